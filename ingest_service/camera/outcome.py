"""What a camera solve is asked to do and what it hands back, whichever front end ran."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pycolmap

from ingest_service.camera.review import Measured
from ingest_service.camera.solution import SolveKind

Frontend = Literal["tracks", "features"]
Mapper = Literal["global", "incremental"]


@dataclass(frozen=True)
class SolveSettings:
    frontend: Frontend = "tracks"  # point tracks through the video, or SIFT on every frame
    track_points: int = 800  # tracks kept alive per frame (tracks front end)
    max_features: int = 2048  # SIFT per frame (features front end)
    overlap: int = 10
    threads: int = 2
    mapper: Mapper = "global"  # features front end: "global" or "incremental"
    max_keyframes: int = 200  # features front end
    distortion: bool = True  # estimate radial distortion when the lens shows it


@dataclass(frozen=True)
class SolveInput:
    """What every front end solves from: frames staged at solve resolution."""

    image_dir: Path
    names: list[str]  # in frame order
    width: int
    height: int
    focal_hint_px: float | None
    scratch: Path  # a folder the solve may write to

    @property
    def focal_guess_px(self) -> float:
        """Where a solve's focal length starts: the hint, else 1.2 times the long side."""
        return self.focal_hint_px or 1.2 * max(self.width, self.height)


@dataclass
class SolveOutcome:
    kind: SolveKind
    model: str
    params: list[float]  # COLMAP camera params at solve resolution
    focal_source: str  # "solved", "hint", "rotation" or "assumed"
    cameras: dict[int, np.ndarray]  # frame index -> OpenCV camera-to-world
    xyz: np.ndarray
    rgb: np.ndarray
    reprojection_error_px: float | None
    split: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    frontend: Frontend = "features"
    fallback_reason: str | None = None  # why the tracks front end handed over to features
    measured: Measured = field(default_factory=Measured)  # at solve resolution
    # Tracks front end, frame index -> (n, 2) at solve resolution, COLMAP convention: the
    # tracks that broke the static scene's epipolar geometry, and the observations the
    # final adjustment found over its outlier threshold.
    moving: dict[int, np.ndarray] = field(default_factory=dict)
    outliers: dict[int, np.ndarray] = field(default_factory=dict)


def locked_off(given: SolveInput, timings: dict[str, float], frontend: Frontend) -> SolveOutcome:
    """A static solve: every frame at the origin, the hinted focal length (else 1.2 times
    the long side), the principal point centred, no scene points. Each front end keeps its
    camera model: PINHOLE for features, SIMPLE_PINHOLE for tracks."""
    focal = given.focal_guess_px
    cx, cy = given.width / 2, given.height / 2
    simple = frontend == "tracks"
    return SolveOutcome(
        kind=SolveKind.STATIC,
        model="SIMPLE_PINHOLE" if simple else "PINHOLE",
        params=[focal, cx, cy] if simple else [focal, focal, cx, cy],
        focal_source="hint" if given.focal_hint_px else "assumed",
        cameras={i: np.eye(4) for i in range(len(given.names))},
        xyz=np.zeros((0, 3)),
        rgb=np.zeros((0, 3), np.uint8),
        reprojection_error_px=None,
        timings=timings,
        frontend=frontend,
    )


def cameras_by_frame(rec: pycolmap.Reconstruction, names: list[str]) -> dict[int, np.ndarray]:
    """OpenCV camera-to-world of every posed image, by its frame's index in `names`."""
    index = {name: i for i, name in enumerate(names)}
    cameras = {}
    for image in rec.images.values():
        if image.has_pose:
            w2c = np.eye(4)
            w2c[:3, :] = image.cam_from_world().matrix()
            cameras[index[image.name]] = np.linalg.inv(w2c)
    return cameras


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - start, 3)
