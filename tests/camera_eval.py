"""Scoring a solved camera against the truth after a similarity alignment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
