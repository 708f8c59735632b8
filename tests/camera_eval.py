"""Scoring a solved camera against the truth: poses after a similarity alignment, and
how far apart two lenses bend the image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest_service.camera.lens import Lens


@dataclass(frozen=True)
class Scores:
    rotation_error_deg: float  # mean over frames
    centre_error_pct: float  # mean centre distance, % of the true path length
    path_length: float


def _nearest_rotation(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    r: np.ndarray = u @ np.diag([1, 1, np.sign(np.linalg.det(u @ vt))]) @ vt
    return r


def score(estimated: list[np.ndarray], truth: list[np.ndarray]) -> Scores:
    """Both lists are OpenCV camera-to-world matrices, frame for frame.

    The rotation part of the alignment comes from the camera orientations (a straight
    dolly leaves the path's own roll undetermined), scale and offset from the centres.
    """
    rotation = _nearest_rotation(
        sum(t[:3, :3] @ e[:3, :3].T for e, t in zip(estimated, truth, strict=True))
    )
    est_c = np.array([rotation @ e[:3, 3] for e in estimated])
    true_c = np.array([t[:3, 3] for t in truth])
    path = float(np.linalg.norm(np.diff(true_c, axis=0), axis=1).sum())
    ec, tc = est_c - est_c.mean(0), true_c - true_c.mean(0)
    scale = float((ec * tc).sum() / max((ec * ec).sum(), 1e-12))
    aligned = scale * ec + true_c.mean(0)
    errors = []
    for e, t in zip(estimated, truth, strict=True):
        cos = (np.trace((rotation @ e[:3, :3]).T @ t[:3, :3]) - 1) / 2
        errors.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    centre = float(np.linalg.norm(aligned - true_c, axis=1).mean())
    return Scores(float(np.mean(errors)), 100 * centre / path if path > 1e-9 else 0.0, path)


def distortion_map_error_px(
    truth: Lens, estimated: Lens, width: int, height: int, step: float = 8.0
) -> float:
    """RMS distance (px) between two lenses' distortion displacement fields over the frame.

    A lens's field is d(p) = distort_pixels(p) - p: how far the lens moves, in the final
    image, the point an ideal pinhole with the lens's own focal length and principal point
    images at pixel p. Both fields are evaluated at the same pixels p, those the true lens
    maps onto a grid over the whole frame (about every `step` px, from edge to edge), and
    the result is the RMS length of d_est(p) - d_true(p): how far apart the two lenses put
    the same ideal image point, in pixels, over what the frame shows.

    Evaluating at the same pixels, not the same normalised coordinates, is the correction
    for the focal difference: k1, k2 solved alongside a slightly wrong focal length are
    judged by the image they predict (k scales with f squared), and the focal error itself,
    which is no distortion, is left to be reported on its own. A principal point off the
    true one does count. Both lenses must be at the same resolution and in COLMAP's pixel
    convention (the frame spans 0..width, 0..height), as published intrinsics are.
    A pinhole estimate of a distorted lens scores the RMS of the true field itself.
    """
    columns = np.linspace(0, width, max(2, round(width / step) + 1))
    rows = np.linspace(0, height, max(2, round(height / step) + 1))
    frame = np.stack(np.meshgrid(columns, rows), axis=-1).reshape(-1, 2)
    ideal = truth.undistort_pixels(frame)
    d_true = truth.distort_pixels(ideal) - ideal
    d_est = estimated.distort_pixels(ideal) - ideal
    return float(np.sqrt(np.mean(np.sum((d_est - d_true) ** 2, axis=1))))
