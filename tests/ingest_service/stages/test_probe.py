"""The probe refuses what must not be decoded, as a recorded failed job, source untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest_service.errors import SourceFrameTooLargeError
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.states import JobState
from ingest_service.media.limits import FrameLimits
from ingest_service.publish.commit import FailureRecord
from ingest_service.samples.plate import make_plate
from ingest_service.services import Services
from ingest_service.settings import Settings
from tests.ingest_service.media.stills import still_as_mov
from tests.jobs import run_plate

W, H = 64, 48


def _assert_refused_at_probe(
    services: Services, record: JobRecord, plate: Path, words: str
) -> None:
    assert record.state is JobState.FAILED
    assert record.error is not None and record.error.stage == "probe"
    assert words in record.error.message and not record.error.retryable
    assert set(record.stages) <= {"probe"}  # nothing was decoded into frames
    assert record.output_prefix is not None
    published = [i.key for i in services.store.list(record.output_prefix)]
    assert published == [record.output_prefix + "failure.json"]
    failure = FailureRecord.model_validate_json(services.store.get(published[0]).data)
    assert failure.error.message == record.error.message and not failure.will_retry
    log = services.settings.notify_log
    assert log is not None
    [note] = [json.loads(line) for line in log.read_text().splitlines()]
    assert note["event"] == "job.failed"
    source = services.store.get(f"incoming/{plate.name}")
    assert source.data == plate.read_bytes()
    assert source.info.etag == record.source.etag


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_a_still_image_renamed_to_mov_fails_its_job(tmp_path: Path, fmt: str) -> None:
    plate = still_as_mov(tmp_path, fmt)
    services, record = run_plate(tmp_path, plate, ["probe", "frames"])
    _assert_refused_at_probe(services, record, plate, "is a single still image")


def test_frames_over_the_size_limit_fail_the_job_before_decoding(tmp_path: Path) -> None:
    plate = make_plate(tmp_path / "wide.mov", seconds=0.25, width=W, height=H)
    services, record = run_plate(tmp_path, plate, ["probe", "frames"], max_frame_pixels=W * H - 1)
    _assert_refused_at_probe(services, record, plate, f"frames are {W}x{H}")
    assert record.error is not None and "INGEST_MAX_FRAME_PIXELS" in record.error.message


def test_the_default_limit_refuses_16k_and_takes_8k() -> None:
    limits = FrameLimits.of(Settings())
    for width, height in [(8192, 4320), (8640, 5760), (8192, 8192)]:
        limits.check(width, height, "8k.mov")
    with pytest.raises(SourceFrameTooLargeError):
        limits.check(16384, 8192, "16k.mov")
