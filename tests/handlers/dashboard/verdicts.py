"""Job records as the camera stage leaves them, verdict and all, for the dashboard's tests."""

from __future__ import annotations

from ingest_service.camera.solution import SolveEvidence
from ingest_service.jobs.record import StageRun
from ingest_service.jobs.results import CameraResult
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.notify.verdict import Review
from ingest_service.services import Services

WEAK_FOCAL = "focal length weakly constrained: 1816 px, anything from 1100 to 2600 px fits"
FEW_TRACKS = "few points tracked: 38 per frame"


def solved(services: Services, job_id: str, review: Review, state: JobState | None = None) -> None:
    """Record a finished camera stage with `review` (and measured evidence) in the job."""
    evidence = SolveEvidence(
        frontend="tracks",
        parallax_deg=1.8,
        focal_length_px=1816.0,
        focal_source="solved",
        focal_range_px=(1100.0, 2600.0),
        tracks_per_frame=38.0,
        track_length_frames=21.0,
        reprojection_error_px={"p50": 0.41, "p90": 1.12, "p99": 2.3},
        interpolated_frames=3,
        interpolated_share=0.0625,
    )
    camera = CameraResult(
        solve="full",
        frames=48,
        registered=45,
        interpolated=3,
        reprojection_error_px=0.52,
        points=900,
        focal_length_px=1816.0,
        focal_source="solved",
        split_models=[45],
        timings_s={},
        files=[],
        review=review,
        evidence=evidence.model_dump(),
    )
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
