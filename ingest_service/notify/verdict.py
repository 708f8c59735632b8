"""The camera solve's verdict as the world outside the pipeline sees it: the notification
carries it, and the dashboard shows it.

Built from the job record alone (the camera stage's recorded result), so telling it costs
no bucket read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.results import CameraResult
from ingest_service.jobs.states import StageName, StageStatus

Review = Literal["ok"] | list[str]


class CameraVerdict(BaseModel):
    """Whether an artist should check the solve, and the measurements that say so."""

    review: Review = Field(description='"ok", or why an artist should check the solve, in words')
    solve: str = Field(description="full, rotation_only or static")
    frontend: str | None = Field(description="tracks or features; null for older solves")
    fallback_reason: str | None = None
    focal_length_px: float
    focal_source: str = Field(description="solved, rotation, hint or assumed")
    focal_range_px: tuple[float, float] | None = Field(
        description="focal lengths that fit the tracks about as well"
    )
    parallax_deg: float | None
    reprojection_p50_px: float | None
    reprojection_p90_px: float | None
    tracks_per_frame: float | None
    frames: int
    interpolated_frames: int

    @classmethod
    def of(cls, camera: CameraResult) -> CameraVerdict:
        # `evidence` is a plain dict in the record (absent before solves measured
        # themselves): read it leniently rather than fail a page or a notification.
        evidence: dict[str, Any] = camera.evidence or {}
        errors = evidence.get("reprojection_error_px") or {}
        span = evidence.get("focal_range_px")
        return cls(
            review=camera.review,
            solve=camera.solve,
            frontend=evidence.get("frontend"),
            fallback_reason=evidence.get("fallback_reason"),
            focal_length_px=camera.focal_length_px,
            focal_source=camera.focal_source,
            focal_range_px=(span[0], span[1]) if span else None,
            parallax_deg=evidence.get("parallax_deg"),
            reprojection_p50_px=errors.get("p50"),
            reprojection_p90_px=errors.get("p90"),
            tracks_per_frame=evidence.get("tracks_per_frame"),
            frames=camera.frames,
            interpolated_frames=evidence.get("interpolated_frames", camera.interpolated),
        )


def camera_result(record: JobRecord) -> CameraResult | None:
    """The camera stage's result, if that stage ran to the end."""
    run = record.stages.get(StageName.CAMERA)
    if run is None or run.status is not StageStatus.DONE:
        return None
    return run.result if isinstance(run.result, CameraResult) else None


def camera_verdict(record: JobRecord) -> CameraVerdict | None:
    camera = camera_result(record)
    return CameraVerdict.of(camera) if camera else None
