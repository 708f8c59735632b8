"""A camera stage's recorded result with its verdict and evidence, as the solve leaves it:
for the tests of what reads it (dashboard, notifications)."""

from __future__ import annotations

from ingest_service.camera.solution import SolveEvidence
from ingest_service.jobs.results import CameraResult
from ingest_service.notify.verdict import Review

WEAK_FOCAL = "focal length weakly constrained: 1816 px, anything from 1100 to 2600 px fits"
FEW_TRACKS = "few points tracked: 38 per frame"


def camera_result(review: Review) -> CameraResult:
    """A 48-frame full solve, 3 frames interpolated, with `review` as its verdict."""
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
    return CameraResult(
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
