"""Every frame gets a camera: unregistered frames between solved ones are interpolated."""

from __future__ import annotations

import bisect

import numpy as np

from ingest_service.camera.geometry import matrix_to_quat, quat_to_matrix, slerp


def fill_missing(solved: dict[int, np.ndarray], frames: int) -> dict[int, np.ndarray]:
    """Camera-to-world for every index in range(frames): slerp/lerp between the nearest
    solved neighbours, held at the first/last solved camera beyond the ends."""
    if not solved:
        raise ValueError("no solved camera to interpolate from")
    known = sorted(solved)
    out: dict[int, np.ndarray] = {}
    for i in range(frames):
        if i in solved:
            out[i] = solved[i]
            continue
        at = bisect.bisect_left(known, i)
        if at == 0 or at == len(known):
            out[i] = solved[known[0] if at == 0 else known[-1]].copy()
            continue
        a, b = known[at - 1], known[at]
        t = (i - a) / (b - a)
        c2w = np.eye(4)
        q = slerp(matrix_to_quat(solved[a][:3, :3]), matrix_to_quat(solved[b][:3, :3]), t)
        c2w[:3, :3] = quat_to_matrix(q)
        c2w[:3, 3] = (1 - t) * solved[a][:3, 3] + t * solved[b][:3, 3]
        out[i] = c2w
    return out
