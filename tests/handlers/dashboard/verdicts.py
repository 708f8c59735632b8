"""Job records as the camera stage leaves them, verdict and all, for the dashboard's tests."""

from __future__ import annotations

from ingest_service.jobs.record import StageRun
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.notify.verdict import Review
from ingest_service.services import Services
from tests.camera_results import FEW_TRACKS, WEAK_FOCAL, camera_result

__all__ = ["FEW_TRACKS", "WEAK_FOCAL", "solved"]


def solved(services: Services, job_id: str, review: Review, state: JobState | None = None) -> None:
    """Record a finished camera stage with `review` (and measured evidence) in the job."""
    camera = camera_result(review)
    record = services.ledger.get(job_id)
    now = record.updated_at
    record.stages["camera"] = StageRun(
        name="camera",
        status=StageStatus.DONE,
        started_at=now,
        finished_at=now,
        duration_s=1.0,
        device="cpu",
        cpu_cores=2,
        backend="test",
        result=camera,
    )
    if state is not None:
        record.state = state
    services.store.put(services.ledger.key(job_id), record.to_json())
