"""Sidecars change what a plate's job does, before the job starts and never after."""

from __future__ import annotations

import json

from ingest_service.cli.plates import ref_for_key
from ingest_service.jobs.states import JobState
from ingest_service.run import pipeline
from ingest_service.run.intake import apply_sidecar, claim_plate
from ingest_service.services import Services
from tests.plates import Plates


def _put_plate(services: Services, plates: Plates, key: str) -> None:
    services.store.put(key, plates.h264.read_bytes())


def test_sidecar_beside_the_plate_shapes_its_job(services: Services, plates: Plates) -> None:
    services.store.put(
        "incoming/A001C003.mov.json",
        json.dumps(
            {
                "shot": "sq010/sh0040",
                "frame_range": {"first": 5, "last": 14},
                "first_frame": 1001,
                "frame_format": "jpeg",
            }
        ).encode(),
    )
    _put_plate(services, plates, "incoming/A001C003.mov")
    claim = claim_plate(services, ref_for_key(services.store, "incoming/A001C003.mov"))
    record = pipeline.run(claim.record.job_id, services)
    assert record.state is JobState.PUBLISHED, record.error
    assert record.output_prefix == "published/sq010/sh0040/v001/"
    frames = record.stages["frames"]
    assert frames.parameters["source_range"] == [5, 14]
    keys = [f.key.rsplit("/", 1)[1] for f in frames.result.files]  # type: ignore[union-attr]
    assert keys == [f"frame.{n}.jpg" for n in range(1001, 1011)]


def test_invalid_sidecar_fails_the_job_in_plain_words(services: Services, plates: Plates) -> None:
    services.store.put("incoming/sh.mov.json", b'{"frame_range": {"first": 9, "last": 2}}')
    _put_plate(services, plates, "incoming/sh.mov")
    claim = claim_plate(services, ref_for_key(services.store, "incoming/sh.mov"))
    record = pipeline.run(claim.record.job_id, services)
    assert record.state is JobState.FAILED
    assert record.error is not None
    assert record.error.type == "SidecarInvalidError"
    assert "incoming/sh.mov.json" in record.error.message
    assert record.stages == {}


def test_late_sidecar_applies_only_before_the_job_starts(
    services: Services, plates: Plates
) -> None:
    _put_plate(services, plates, "incoming/sh.mov")
    claim = claim_plate(services, ref_for_key(services.store, "incoming/sh.mov"))
    services.store.put("incoming/sh.mov.json", b'{"shot": "late/sh0100"}')
    assert apply_sidecar(services, "incoming/sh.mov.json") == "applied to the plate's job"
    record = pipeline.run(claim.record.job_id, services)
    assert record.shot == "late/sh0100"

    services.store.put("incoming/sh.mov.json", b'{"shot": "too/late"}')
    assert "too late" in apply_sidecar(services, "incoming/sh.mov.json")
    assert services.ledger.get(claim.record.job_id).shot == "late/sh0100"


def test_sidecar_before_its_plate_waits_for_it(services: Services) -> None:
    services.store.put("incoming/early.mov.json", b'{"shot": "x"}')
    assert "plate not here yet" in apply_sidecar(services, "incoming/early.mov.json")


def test_range_past_the_end_is_a_clear_error(services: Services, plates: Plates) -> None:
    services.store.put("incoming/sh.mov.json", b'{"frame_range": {"first": 400, "last": 500}}')
    _put_plate(services, plates, "incoming/sh.mov")
    claim = claim_plate(services, ref_for_key(services.store, "incoming/sh.mov"))
    record = pipeline.run(claim.record.job_id, services)
    assert record.error is not None
    assert "starts at frame 400 but the clip has 48 frames" in record.error.message
