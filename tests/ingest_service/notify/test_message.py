"""The notification tells a pipeline whether to trust the camera solve, signed as ever."""

from __future__ import annotations

import json

from ingest_service.jobs.record import ErrorInfo, JobRecord, StageRun
from ingest_service.jobs.results import CameraResult
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.notify.channels import WebhookChannel
from ingest_service.notify.message import Notification
from ingest_service.notify.signing import verify
from tests.camera_results import FEW_TRACKS, WEAK_FOCAL, camera_result
from tests.http_receiver import Receiver
from tests.job_records import job_record, stage_run

KEY = b"test-signing-key"


def _record(state: JobState, camera: StageRun | None) -> JobRecord:
    published = state is JobState.PUBLISHED
    record = job_record(
        "sh0040-0123456789abcdef",
        ObjectRef(bucket="studio-plates", key="incoming/sh0040.mov", etag="e", size=1),
        ["probe", "frames", "camera"],
        attempt=1,
        state=state,
        shot="sh0040",
        version="v001",
        manifest_key="published/sh0040/v001/manifest.json" if published else None,
        error=None if published else ErrorInfo(type="X", message="boom", retryable=False),
    )
    if camera is not None:
        record.stages["camera"] = camera
    return record


def _run(result: CameraResult | None, status: StageStatus = StageStatus.DONE) -> StageRun:
    return stage_run("camera", result, status=status)


def test_a_published_job_says_why_its_solve_needs_checking(receiver: Receiver) -> None:
    note = Notification.for_job(
        _record(JobState.PUBLISHED, _run(camera_result([WEAK_FOCAL, FEW_TRACKS])))
    )
    delivery = WebhookChannel(receiver.url, signing_key=KEY).send(note)
    assert delivery.ok
    [(headers, body)] = receiver.requests
    assert verify(KEY, body, headers)  # the verdict is inside the signed bytes
    camera = json.loads(body)["camera"]
    assert camera["review"] == [WEAK_FOCAL, FEW_TRACKS]
    assert camera["solve"] == "full"
    assert camera["focal_length_px"] == 1816.0
    assert camera["focal_range_px"] == [1100.0, 2600.0]
    assert camera["reprojection_p90_px"] == 1.12
    assert camera["interpolated_frames"] == 3


def test_a_good_solve_says_ok() -> None:
    record = _record(JobState.PUBLISHED, _run(camera_result("ok")))
    body = json.loads(Notification.for_job(record).body())
    assert body["camera"]["review"] == "ok"


def test_a_job_that_failed_after_its_solve_still_tells_the_verdict() -> None:
    note = Notification.for_job(_record(JobState.FAILED, _run(camera_result([WEAK_FOCAL]))))
    body = json.loads(note.body())
    assert body["event"] == "job.failed"
    assert body["camera"]["review"] == [WEAK_FOCAL]


def test_no_verdict_when_the_camera_did_not_run_or_failed() -> None:
    never = json.loads(Notification.for_job(_record(JobState.PUBLISHED, None)).body())
    assert never["camera"] is None
    failed = _record(JobState.FAILED, _run(None, StageStatus.FAILED))
    assert json.loads(Notification.for_job(failed).body())["camera"] is None


def test_an_older_record_without_evidence_still_tells_the_verdict() -> None:
    older = camera_result([WEAK_FOCAL]).model_copy(update={"evidence": None})
    camera = json.loads(Notification.for_job(_record(JobState.PUBLISHED, _run(older))).body())[
        "camera"
    ]
    assert camera["review"] == [WEAK_FOCAL] and camera["focal_length_px"] == 1816.0
    assert camera["focal_range_px"] is None and camera["frontend"] is None
