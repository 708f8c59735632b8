"""camera.json: one solved camera per frame, in OpenCV convention, world Y-up."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from ingest_service.camera.geometry import invert

Matrix4 = list[list[float]]


class SolveKind(StrEnum):
    FULL = "full"  # parallax: rotation and translation solved
    ROTATION_ONLY = "rotation_only"  # nodal pan/tilt: one camera centre for all frames
    STATIC = "static"  # locked off: one camera for all frames


class FrameStatus(StrEnum):
    REGISTERED = "registered"
    INTERPOLATED = "interpolated"


class Intrinsics(BaseModel):
    """COLMAP camera model and parameters, in pixels of the published frames."""

    model: str = Field(description="COLMAP model name: PINHOLE, SIMPLE_RADIAL, OPENCV, …")
    params: list[float]
    fx: float
    fy: float
    cx: float
    cy: float


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

    @property
    def registered(self) -> int:
        return sum(f.status is FrameStatus.REGISTERED for f in self.frames)

    @property
    def interpolated(self) -> int:
        return len(self.frames) - self.registered

    @property
    def vertical_fov_degrees(self) -> float:
        return float(np.degrees(2 * np.arctan(self.height / (2 * self.intrinsics.fy))))
