"""A plate in a bucket becomes frames, a manifest and a notification, on both backends."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.options import FrameFormat, MasksBackend
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.publish import commit
from ingest_service.publish.manifest import Manifest
from ingest_service.run import pipeline
from ingest_service.services import Services
from ingest_service.stages import table
from ingest_service.stages.base import InProcess, StageContext, StageOutput, StageSpec
from storage import ObjectNotFoundError, ObjectStore, S3Store
from tests.conftest import make_settings
from tests.http_receiver import Receiver
from tests.plates import Plates


def submit(services: Services, path: Path, key: str | None = None) -> str:
    key = key or f"incoming/{path.name}"
    ref = ref_for_local_file(services.store, path, key=key)
    claim = services.ledger.claim(ref, services.job_options(), max_attempts=3)
    assert claim.claimed
    return claim.record.job_id


def manifest_of(store: ObjectStore, record: JobRecord) -> Manifest:
    assert record.manifest_key
    return Manifest.model_validate_json(store.get(record.manifest_key).data)


def notifications(services: Services) -> list[dict[str, object]]:
    log = services.settings.notify_log
    assert log is not None
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_plate_is_published_with_frames_manifest_and_notification(
    services: Services, plates: Plates
) -> None:
    job_id = submit(services, plates.h264, "incoming/show/sq010/sh0040 plate v1.mov")
    source_before = services.store.get("incoming/show/sq010/sh0040 plate v1.mov")

    record = pipeline.run(job_id, services)

    assert record.state is JobState.PUBLISHED, record.error
    assert record.output_prefix == "published/show/sq010/sh0040_plate_v1/v001/"
    manifest = manifest_of(services.store, record)
    assert manifest.schema_version == "1.0"
    assert manifest.shot.fps is not None and (manifest.shot.fps.num, manifest.shot.fps.den) == (
        24,
        1,
    )
    assert (manifest.shot.width, manifest.shot.height) == (320, 180)
    assert manifest.shot.frame_range is not None
    assert (manifest.shot.frame_range.first, manifest.shot.frame_range.last) == (1, 48)
    assert manifest.source.sha256 == hashlib.sha256(plates.h264.read_bytes()).hexdigest()
    assert set(manifest.stages) == {"probe", "frames"}
    assert all(s.status is StageStatus.DONE for s in manifest.stages.values())
    assert manifest.cost.total >= 0 and set(manifest.cost.by_stage) == {"probe", "frames"}

    frames = [f for f in manifest.files if f.role == "frame"]
    assert [f.key.rsplit("/", 1)[1] for f in frames[:2]] == ["frame.0001.png", "frame.0002.png"]
    assert len(frames) == 48
    for entry in manifest.files:  # every listed output is there, byte for byte
        data = services.store.get(entry.key).data
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry.size, entry.sha256)
    sequence = manifest.sequences[0]
    assert (sequence.printf_pattern, sequence.hash_pattern) == ("frame.%04d.png", "frame.####.png")

    first = services.store.get(frames[0].key).data
    image = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (180, 320, 3)

    [note] = notifications(services)
    assert note["event"] == "job.published"
    assert note["manifest_key"] == record.manifest_key
    assert record.deliveries[0].ok

    after = services.store.get("incoming/show/sq010/sh0040 plate v1.mov")
    assert (after.data, after.info.etag) == (source_before.data, source_before.info.etag)


def test_phone_clip_is_published_in_its_displayed_orientation(
    services: Services, plates: Plates
) -> None:
    record = pipeline.run(submit(services, plates.phone), services)
    manifest = manifest_of(services.store, record)
    assert (manifest.shot.width, manifest.shot.height) == (180, 320)
    assert manifest.shot.rotation_applied == 90
    frame = services.store.get(manifest.files[0].key).data
    assert cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_UNCHANGED).shape == (320, 180, 3)


def test_exact_rate_timecode_and_deep_pixels_survive(services: Services, plates: Plates) -> None:
    ntsc = manifest_of(services.store, pipeline.run(submit(services, plates.ntsc), services))
    assert ntsc.shot.fps is not None and (ntsc.shot.fps.num, ntsc.shot.fps.den) == (24000, 1001)
    assert ntsc.shot.timecode == "01:02:03:04"

    prores = manifest_of(services.store, pipeline.run(submit(services, plates.prores), services))
    assert prores.sequences[0].bit_depth == 16
    frame = services.store.get(prores.files[0].key).data
    assert cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint16


@pytest.mark.parametrize(
    ("fmt", "first", "name"),
    [(FrameFormat.EXR, 1001, "frame.1001.exr"), (FrameFormat.JPEG, 0, "frame.0000.jpg")],
)
def test_format_and_first_frame_are_configurable(
    store: ObjectStore, tmp_path: Path, plates: Plates, fmt: FrameFormat, first: int, name: str
) -> None:
    services = Services.build(
        make_settings(tmp_path, frame_format=fmt, first_frame=first), store=store
    )
    manifest = manifest_of(store, pipeline.run(submit(services, plates.ntsc), services))
    assert manifest.files[0].key.endswith(f"/frames/{name}")
    assert manifest.sequences[0].frame_range.first == first


@pytest.mark.parametrize(
    ("plate", "message"),
    [
        ("empty", "is empty (0 bytes)"),
        ("text_as_mov", "not a readable video file"),
        ("truncated_no_index", "not a readable video file"),
        ("truncated", "only 2"),
    ],
)
def test_bad_input_fails_clearly_and_publishes_nothing(
    services: Services, plates: Plates, plate: str, message: str
) -> None:
    path: Path = getattr(plates, plate)
    job_id = submit(services, path)
    source_before = services.store.get(f"incoming/{path.name}")

    record = pipeline.run(job_id, services)

    assert record.state is JobState.FAILED
    assert record.error is not None and message in record.error.message
    assert not record.error.retryable
    assert record.manifest_key is None
    assert record.output_prefix
    with pytest.raises(ObjectNotFoundError):
        services.store.head(record.output_prefix + "manifest.json")
    failure = commit.FailureRecord.model_validate_json(
        services.store.get(record.output_prefix + "failure.json").data
    )
    assert failure.error.message == record.error.message and not failure.will_retry
    [note] = notifications(services)
    assert note["event"] == "job.failed"
    assert message in json.dumps(note["error"])
    after = services.store.get(f"incoming/{path.name}")
    assert (after.data, after.info.etag) == (source_before.data, source_before.info.etag)


def test_odd_keys_publish_under_readable_safe_paths(services: Services, plates: Plates) -> None:
    key = "incoming/A001/A001C003_261121_R1AB (take 2) + été " + "long" * 40 + ".mov"
    record = pipeline.run(submit(services, plates.h264, key), services)
    assert record.state is JobState.PUBLISHED
    assert record.output_prefix is not None
    assert record.output_prefix.startswith("published/A001/A001C003_261121_R1AB_take_2_ete_long")
    assert record.output_prefix.isascii() and " " not in record.output_prefix
    assert len(record.output_prefix) < 100


def test_dot_dot_key_never_escapes_the_published_prefix(
    s3_store: S3Store, tmp_path: Path, plates: Plates
) -> None:
    # Only S3 can hold such a key (the folder store refuses it outright).
    services = Services.build(make_settings(tmp_path), store=s3_store)
    s3_store.put("incoming/../../etc/evil.mov", plates.h264.read_bytes())
    from ingest_service.cli.plates import ref_for_key

    ref = ref_for_key(s3_store, "incoming/../../etc/evil.mov")
    job_id = services.ledger.claim(ref, services.job_options(), max_attempts=3).record.job_id
    record = pipeline.run(job_id, services)
    assert record.output_prefix == "published/etc/evil/v001/"
    assert all(i.key.startswith(("published/", "incoming/", ".ingest/")) for i in s3_store.list())


def test_new_content_under_the_same_key_is_the_next_version(
    services: Services, plates: Plates
) -> None:
    first = pipeline.run(submit(services, plates.h264, "incoming/sh0040.mov"), services)
    services.store.put("incoming/sh0040.mov", plates.ntsc.read_bytes())  # a re-upload
    second = pipeline.run(_claim_key(services, "incoming/sh0040.mov"), services)
    assert (first.version, second.version) == ("v001", "v002")
    assert first.shot == second.shot == "sh0040"
    assert services.store.head("published/sh0040/v001/manifest.json")
    assert services.store.head("published/sh0040/v002/manifest.json")


def _claim_key(services: Services, key: str) -> str:
    from ingest_service.cli.plates import ref_for_key

    ref = ref_for_key(services.store, key)
    return services.ledger.claim(ref, services.job_options(), max_attempts=3).record.job_id


def test_source_replaced_after_notice_fails_without_touching_it(
    services: Services, plates: Plates
) -> None:
    job_id = submit(services, plates.h264)
    services.store.put("incoming/h264.mov", plates.ntsc.read_bytes())
    record = pipeline.run(job_id, services)
    assert record.state is JobState.FAILED
    assert record.error is not None and "replaced after it was noticed" in record.error.message
    assert services.store.get("incoming/h264.mov").data == plates.ntsc.read_bytes()


def crashed_in_frames(services: Services, plates: Plates) -> JobRecord:
    """A job whose frames stage died like a worker out of memory, on its first attempt."""
    real = table.STAGES

    def crash(ctx: StageContext) -> StageOutput:
        raise MemoryError("worker ran out of memory")

    table.STAGES = (real[0], StageSpec("frames", crash, ("probe",)))
    try:
        return pipeline.run(submit(services, plates.h264), services)
    finally:
        table.STAGES = real


def test_rerun_after_a_crash_skips_recorded_stages(services: Services, plates: Plates) -> None:
    failed = crashed_in_frames(services, plates)
    assert failed.state is JobState.FAILED and failed.error is not None
    assert failed.error.retryable and failed.error.stage == "frames"
    probe_run = failed.stages["probe"]

    done = pipeline.run(failed.job_id, services)
    assert done.state is JobState.PUBLISHED
    assert done.attempt == 2
    assert done.stages["probe"] == probe_run  # not run again
    with pytest.raises(ObjectNotFoundError):  # the earlier failure record is gone
        services.store.head(f"{done.output_prefix}failure.json")


def test_expired_lease_of_a_dead_worker_is_taken_over(
    store: ObjectStore, tmp_path: Path, plates: Plates
) -> None:
    services = Services.build(make_settings(tmp_path, lease_seconds=1.5), store=store)
    job_id = submit(services, plates.h264)
    services.ledger.acquire(job_id, owner="worker-that-died", lease_s=1.5)
    time.sleep(1.6)
    record = pipeline.run(job_id, services)
    assert record.state is JobState.PUBLISHED and record.attempt == 2


class Recording(InProcess):
    """Runs stages here, and notes which."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run(self, spec: StageSpec, ctx: StageContext) -> StageOutput:
        self.ran.append(spec.name)
        return super().run(spec, ctx)


def test_outputs_deleted_before_publish_are_made_again(
    services: Services, plates: Plates, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = submit(services, plates.h264)
    real_write = commit.write_manifest

    def interrupted(*args: object, **kwargs: object) -> Manifest:
        raise ConnectionResetError("network dropped")

    monkeypatch.setattr(pipeline, "write_manifest", interrupted)
    failed = pipeline.run(job_id, services)
    assert failed.state is JobState.FAILED and failed.error is not None and failed.error.retryable
    prefix = failed.output_prefix
    services.store.delete(f"{prefix}frames/frame.0007.png")  # a cleanup script went too far

    monkeypatch.setattr(pipeline, "write_manifest", real_write)
    runner = Recording()
    done = pipeline.run(job_id, services, runner=runner)
    assert done.state is JobState.PUBLISHED
    # Made again by the job's runner: on Modal, the stage's own function.
    assert runner.ran == ["frames"]
    assert services.store.head(f"{prefix}frames/frame.0007.png").size > 0


def test_non_critical_stage_failure_still_publishes_the_rest(
    services: Services, plates: Plates, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_texture(ctx: StageContext) -> StageOutput:
        raise RuntimeError("solve failed: too few features")

    stages = (*table.STAGES, StageSpec("extra", no_texture, ("frames",), critical=False))
    monkeypatch.setattr(table, "STAGES", stages)
    services.settings.stages = ["probe", "frames", "extra"]
    record = pipeline.run(submit(services, plates.h264), services)
    assert record.state is JobState.PUBLISHED
    manifest = manifest_of(services.store, record)
    assert manifest.stages["extra"].status is StageStatus.FAILED
    assert manifest.stages["extra"].error is not None
    assert "too few features" in manifest.stages["extra"].error.message
    assert manifest.sequences[0].count == 48


def test_unknown_stage_is_refused_before_any_work(services: Services, plates: Plates) -> None:
    services.settings.stages = ["probe", "sky"]
    record = pipeline.run(submit(services, plates.h264), services)
    assert record.state is JobState.FAILED
    assert record.error is not None and "unknown stage 'sky'" in record.error.message
    assert "masks" in record.error.message  # the message lists the stages there are
    assert record.stages == {}


def test_what_masks_need_depends_on_their_backend(services: Services) -> None:
    options = services.job_options()
    classical = [s.name for s in table.plan(["masks"], options)]
    assert classical == ["probe", "frames", "camera", "depth", "masks"]
    options.masks_backend = MasksBackend.SAM3
    assert [s.name for s in table.plan(["masks"], options)] == ["probe", "frames", "masks"]


def test_stage_requirements_are_added(services: Services, plates: Plates) -> None:
    services.settings.stages = ["frames"]
    record = pipeline.run(submit(services, plates.h264), services)
    assert list(record.stages) == ["probe", "frames"]


def test_configured_webhook_gets_a_signed_notification(
    store: ObjectStore, tmp_path: Path, plates: Plates, receiver: Receiver
) -> None:
    from ingest_service.notify.signing import verify

    settings = make_settings(
        tmp_path, notify_url=receiver.url, notify_signing_key="shh", notify_log=None
    )
    services = Services.build(settings, store=store)
    record = pipeline.run(submit(services, plates.h264), services)
    [(headers, body)] = receiver.requests
    assert verify(b"shh", body, headers)
    assert json.loads(body)["job_id"] == record.job_id
    assert [d.channel for d in record.deliveries] == ["webhook"]
    assert not (tmp_path / "notifications.jsonl").exists()


def test_shutdown_hands_the_job_back_between_stages(
    services: Services, plates: Plates, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    job_id = submit(services, plates.h264)
    stop = threading.Event()
    real = table.STAGES

    def probe_then_stop(ctx: StageContext) -> StageOutput:
        output = real[0].run(ctx)
        stop.set()  # the shutdown signal arrives while probe runs
        return output

    monkeypatch.setattr(table, "STAGES", (StageSpec("probe", probe_then_stop), real[1]))
    paused = pipeline.run(job_id, services, stop=stop)
    assert paused.state is JobState.RUNNING
    assert paused.lease is not None and paused.lease.released
    assert list(paused.stages) == ["probe"]
    assert job_id in set(services.ledger.unfinished())

    monkeypatch.setattr(table, "STAGES", real)
    done = pipeline.run(job_id, services)
    assert done.state is JobState.PUBLISHED
    assert done.attempt == 1
    assert done.stages["probe"] == paused.stages["probe"]
    assert job_id not in set(services.ledger.unfinished())


def test_the_light_stage_order_matches_the_stage_table() -> None:
    """The web app plans from `stages.order` (no media imports); it must agree."""
    from ingest_service.stages.order import ORDER, needs

    assert tuple(spec.name for spec in table.STAGES) == ORDER
    for spec in table.STAGES:
        assert spec.requires == needs(spec.name, None)
