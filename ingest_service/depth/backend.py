"""What a depth backend is given and what it yields, one frame at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from ingest_service.camera.lens_maps import PlateLens
from ingest_service.camera.pinhole_frames import PinholeFrames
from ingest_service.camera.solution import CameraSolution
from ingest_service.errors import DepthUnavailableError
from ingest_service.jobs.results import OutputFile
from ingest_service.stages.base import StageContext


@dataclass(frozen=True)
class DepthInputs:
    ctx: StageContext
    files: list[OutputFile]  # the published frames, in order
    width: int
    height: int
    solution: CameraSolution
    xyz: np.ndarray  # the solve's scene points

    @property
    def k(self) -> np.ndarray:
        i = self.solution.intrinsics
        return np.array([[i.fx, 0, i.cx], [0, i.fy, i.cy], [0, 0, 1.0]])

    @cached_property
    def depth_range(self) -> tuple[float, float]:
        """One near/far for the whole sequence (previews share it, so they do not
        flicker): the solve's points as seen by up to 50 of the cameras."""
        frames = self.solution.frames
        step = max(1, len(frames) // 50)
        return points_depth_range(self.xyz, [f.c2w for f in frames[::step]])

    @cached_property
    def pinhole(self) -> PinholeFrames:
        return PinholeFrames(self.ctx.store, self.files, self.solution, self.ctx.scratch)

    @property
    def plate_lens(self) -> PlateLens:
        return self.pinhole.plate_lens

    def bgr(self, index: int) -> np.ndarray:
        """Frame `index` as 8-bit BGR as the solve's pinhole camera sees it (undistorted
        when the lens distorts): depth is measured and published in that geometry."""
        return self.pinhole.bgr(index)


def points_depth_range(xyz: np.ndarray, cameras: list[np.ndarray]) -> tuple[float, float]:
    """Near and far from the scene points in front of the cameras, with margins."""
    z = np.concatenate([(xyz - c2w[:3, 3]) @ c2w[:3, 2] for c2w in cameras])
    z = z[z > 0]
    if len(z) < 20:
        raise DepthUnavailableError("too few solved scene points in front of the camera")
    return float(np.percentile(z, 1) * 0.7), float(np.percentile(z, 99) * 1.5)


@dataclass(frozen=True)
class DepthFrame:
    index: int
    depth: np.ndarray  # float32 z-depth at the frames' resolution
    confidence: np.ndarray  # float32 0..1, same size
    filled: float  # share of pixels that were filled or clamped, not measured
    raw: np.ndarray | None = None  # the model's unaligned inverse depth, when kept


@dataclass
class DepthSummary:
    backend: str  # as the manifest names it
    aligned_to_solve: bool
    gpu_seconds: float | None = None  # summed over GPU workers, when a GPU ran the model
    parameters: dict[str, Any] = field(default_factory=dict)
    alignment: dict[str, Any] | None = None


class DepthBackend(Protocol):
    steps: int  # progress steps `frames` will take

    def frames(self) -> Iterator[DepthFrame]: ...

    def summary(self) -> DepthSummary:
        """Valid once `frames` is exhausted."""
        ...
