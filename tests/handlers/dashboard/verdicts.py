"""Job records as the camera stage leaves them, verdict and all, for the dashboard's tests."""

from __future__ import annotations

from ingest_service.jobs.states import JobState
from ingest_service.notify.verdict import Review
from ingest_service.services import Services
from tests.camera_results import FEW_TRACKS, WEAK_FOCAL, camera_result
from tests.job_records import stage_run

__all__ = ["FEW_TRACKS", "WEAK_FOCAL", "solved"]


def solved(services: Services, job_id: str, review: Review, state: JobState | None = None) -> None:
    """Record a finished camera stage with `review` (and measured evidence) in the job."""
    camera = camera_result(review)
    record = services.ledger.get(job_id)
    record.stages["camera"] = stage_run("camera", camera, at=record.updated_at)
    if state is not None:
        record.state = state
    services.store.put(services.ledger.key(job_id), record.to_json())
