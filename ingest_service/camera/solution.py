"""camera.json: one solved camera per frame, in OpenCV convention, world Y-up."""

from __future__ import annotations

import dataclasses
import math
from enum import StrEnum
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from ingest_service.camera.geometry import invert
from ingest_service.camera.lens import Lens

Matrix4 = list[list[float]]


class SolveKind(StrEnum):
    FULL = "full"  # parallax: rotation and translation solved
    # mostly rotation with a little travel: focal length from the rotation, then a full solve
    SMALL_TRANSLATION = "small_translation"
    ROTATION_ONLY = "rotation_only"  # nodal pan/tilt: one camera centre for all frames
    STATIC = "static"  # locked off: one camera for all frames


class FrameStatus(StrEnum):
    REGISTERED = "registered"
    INTERPOLATED = "interpolated"


DISTORTION_TERMS = ("k1", "k2", "p1", "p2")


class Intrinsics(BaseModel):
    """COLMAP camera model and parameters, in pixels of the published frames (COLMAP's
    convention: the first pixel's centre is at (0.5, 0.5)), and the same lens spelled out."""

    model: str = Field(description="COLMAP model name: PINHOLE, SIMPLE_RADIAL, OPENCV, …")
    params: list[float] = Field(description="the model's parameters, in COLMAP's order")
    fx: float
    fy: float
    cx: float
    cy: float
    k1: float = Field(default=0.0, description="radial distortion, r² term (OpenCV/COLMAP)")
    k2: float = Field(default=0.0, description="radial distortion, r⁴ term")
    p1: float = Field(default=0.0, description="tangential (decentring) distortion, p1")
    p2: float = Field(default=0.0, description="tangential (decentring) distortion, p2")

    @model_validator(mode="before")
    @classmethod
    def _terms_from_params(cls, data: Any) -> Any:
        """camera.json files written before k1… were spelled out hold them only in params."""
        if not isinstance(data, dict) or any(t in data for t in DISTORTION_TERMS):
            return data
        try:
            lens = Lens.from_colmap(data["model"], data["params"])
        except (KeyError, TypeError, ValueError):
            return data  # a model Lens does not know; the field validators speak for it
        return {**data, **{t: getattr(lens, t) for t in DISTORTION_TERMS}}

    @model_validator(mode="after")
    def _params_agree(self) -> Intrinsics:
        try:
            described = Lens.from_colmap(self.model, self.params)
        except ValueError:
            return self
        for name in ("fx", "fy", "cx", "cy", *DISTORTION_TERMS):
            if not math.isclose(
                getattr(described, name), getattr(self, name), rel_tol=1e-9, abs_tol=1e-12
            ):
                raise ValueError(f"{name} disagrees with the {self.model} params")
        return self

    @classmethod
    def from_lens(cls, lens: Lens) -> Intrinsics:
        model, params = lens.colmap()
        return cls(model=model, params=params, **dataclasses.asdict(lens))

    @property
    def lens(self) -> Lens:
        return Lens(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Lens)})


class CameraFrame(BaseModel):
    frame: int
    image: str = Field(description="the frame's file name in the frames/ folder")
    status: FrameStatus
    camera_from_world: Matrix4
    world_from_camera: Matrix4

    @classmethod
    def of(
        cls, frame: int, image: str, status: FrameStatus, world_from_camera: np.ndarray
    ) -> CameraFrame:
        return cls(
            frame=frame,
            image=image,
            status=status,
            camera_from_world=invert(world_from_camera).tolist(),
            world_from_camera=world_from_camera.tolist(),
        )

    @property
    def c2w(self) -> np.ndarray:
        return np.array(self.world_from_camera)


class SolveEvidence(BaseModel):
    """What the solve measured about itself, in pixels of the published frames."""

    frontend: str = Field(description="tracks (point tracks through the video) or features")
    fallback_reason: str | None = Field(
        default=None, description="why the solve fell back from tracks to features"
    )
    parallax_deg: float | None = Field(
        description="median triangulation angle of the solve's points (none without points)"
    )
    focal_length_px: float
    focal_source: str = Field(description="solved, rotation, hint or assumed")
    focal_range_px: tuple[float, float] | None = Field(
        description="focal lengths that fit the tracks within 5 % more residual"
    )
    focal_hint_px: float | None = Field(
        default=None, description="the focal length the sidecar's lens gives, if any"
    )
    tracks_per_frame: float | None = Field(description="median tracked points per frame")
    track_length_frames: float | None = Field(description="median frames a point is seen in")
    reprojection_error_px: dict[str, float] | None = Field(
        description="percentiles (p50, p90, p99) of the distance between seen and solved points"
    )
    interpolated_frames: int
    interpolated_share: float
    unexplained_motion_share: float | None = Field(
        default=None, description="share of the tracks' motion a pure rotation cannot explain"
    )


class CameraSolution(BaseModel):
    schema_version: Literal["1.0"] = "1.0"
    width: int
    height: int
    intrinsics: Intrinsics
    kind: SolveKind
    convention: str = (
        "OpenCV camera axes (+X right, +Y down, +Z forward); 4x4 matrices row-major, "
        "column vectors; world is right-handed, Y up, first camera at the origin"
    )
    units: str = "arbitrary: structure-from-motion has no scale; scale the scene to taste"
    fps: float | None = None
    frames: list[CameraFrame]
    reprojection_error_px: float | None
    points: int
    split_models: list[int] = Field(
        default_factory=list, description="registered frames in each model the mapper made"
    )
    review: Literal["ok"] | list[str] = Field(
        default="ok", description='"ok", or why an artist should check the solve, in words'
    )
    evidence: SolveEvidence | None = None

    @property
    def registered(self) -> int:
        return sum(f.status is FrameStatus.REGISTERED for f in self.frames)

    @property
    def interpolated(self) -> int:
        return len(self.frames) - self.registered

    @property
    def vertical_fov_degrees(self) -> float:
        return float(np.degrees(2 * np.arctan(self.height / (2 * self.intrinsics.fy))))
