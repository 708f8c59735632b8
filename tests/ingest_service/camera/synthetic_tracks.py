"""Point tracks made by projecting a random 3D scene through known cameras: exact answers
for the parts of the solve that read tracks, without rendering or tracking."""

from __future__ import annotations

import numpy as np

from ingest_service.camera.tracking import FrameTracks, Tracks

W, H = 960, 540


def scene_points(count: int = 3000, seed: int = 0) -> np.ndarray:
    """Points filling a box 4-14 m in front of the origin, as a room would."""
    rng = np.random.default_rng(seed)
    return rng.uniform([-8, -3, 4], [8, 5, 14], (count, 3))


def project(
    points: np.ndarray, cameras: list[np.ndarray], f: float, *, noise_px: float = 0.1, seed: int = 1
) -> Tracks:
    """Tracks of every point inside each frame (camera-to-world cameras, OpenCV axes)."""
    rng = np.random.default_rng(seed)
    tracks = Tracks(width=W, height=H)
    for c2w in cameras:
        w2c = np.linalg.inv(c2w)
        local = points @ w2c[:3, :3].T + w2c[:3, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = f * local[:, :2] / local[:, 2:] + [W / 2, H / 2]
        xy += rng.normal(0, noise_px, xy.shape)
        inside = (local[:, 2] > 0.1) & (xy[:, 0] > 0) & (xy[:, 0] < W) & (xy[:, 1] > 0)
        inside &= xy[:, 1] < H
        ids = np.flatnonzero(inside)
        tracks.frames.append(FrameTracks(ids.astype(np.int64), xy[ids]))
    return tracks
