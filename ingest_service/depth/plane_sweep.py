"""Multi-view plane-sweep stereo: depth from solved cameras and neighbouring frames.

For each of N depths between the near and far planes (uniform in inverse depth), every
neighbour is warped onto the reference frame through the plane's homography and scored
against it (windowed absolute difference). The plane's cost at a pixel is the mean of the
`best` lowest neighbour costs: a pixel hidden from one neighbour (occlusion, the frame's
edge, something moving across it) is still matched in the others. The cheapest plane wins,
refined to sub-plane precision by a parabola through its neighbours' costs. Confidence is
how much better the winner is than the second-best depth outside its neighbourhood.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MISSING = 1.0  # cost of a neighbour that does not see the pixel: worse than any match


@dataclass(frozen=True)
class View:
    gray: np.ndarray  # float32, 0..1
    k: np.ndarray  # 3x3 intrinsics at this resolution
    c2w: np.ndarray  # OpenCV camera-to-world


def plane_sweep(
    ref: View,
    neighbours: list[View],
    *,
    near: float,
    far: float,
    planes: int = 64,
    window: int = 7,
    best: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(z-depth, confidence in 0..1) at the reference view's resolution. `best`: how many
    of the neighbours' costs count at each pixel (None: all of them)."""
    h, w = ref.gray.shape
    keep = len(neighbours) if best is None else max(1, min(best, len(neighbours)))
    inverse = np.linspace(1.0 / near, 1.0 / far, planes)
    costs = np.empty((planes, h, w), np.float32)
    k_inv = np.linalg.inv(ref.k)
    normal = np.array([[0.0, 0.0, 1.0]])
    relatives = [np.linalg.inv(n.c2w) @ ref.c2w for n in neighbours]  # neighbour_from_ref
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for i, inv_depth in enumerate(inverse):
        per_view, seen = [], []
        for view, rel in zip(neighbours, relatives, strict=True):
            # Points on the plane z = d satisfy nᵀX / d = 1, so X' = (R + t nᵀ / d) X.
            hom = view.k @ (rel[:3, :3] + rel[:3, 3:4] @ normal * inv_depth) @ k_inv
            # Outside the neighbour reads as 2: any difference there is clipped to MISSING.
            warped = cv2.warpPerspective(view.gray, hom, (w, h), flags=flags, borderValue=2.0)
            diff = cv2.absdiff(warped, ref.gray)
            per_view.append(cv2.threshold(diff, MISSING, MISSING, cv2.THRESH_TRUNC)[1])
            seen.append(warped <= 1.0)
        if keep == len(neighbours):
            # Every neighbour that sees the pixel counts, equally.
            weight = np.sum(seen, axis=0, dtype=np.float32)
            total = np.sum([c * v for c, v in zip(per_view, seen, strict=True)], axis=0)
            mean = np.where(weight > 0, total / np.maximum(weight, 1), MISSING)
            costs[i] = cv2.boxFilter(mean.astype(np.float32), -1, (window, window))
        else:
            windowed = [cv2.boxFilter(c, -1, (window, window)) for c in per_view]
            costs[i] = _mean_of_lowest(windowed, keep)
    best_plane = np.argmin(costs, axis=0)
    # The volume read and written flat, at plane * h * w + pixel: fancy indexing with
    # three index arrays is twice as slow, and this is a fifth of the sweep.
    volume, pixels = costs.reshape(-1), np.arange(h * w).reshape(h, w)
    c0 = volume[best_plane * (h * w) + pixels]
    lower = volume[np.maximum(best_plane - 1, 0) * (h * w) + pixels]
    upper = volume[np.minimum(best_plane + 1, planes - 1) * (h * w) + pixels]
    denom = lower - 2 * c0 + upper
    shift = np.where(denom > 1e-6, 0.5 * (lower - upper) / np.maximum(denom, 1e-6), 0.0)
    inner = (best_plane > 0) & (best_plane < planes - 1)
    shift = np.clip(np.where(inner, shift, 0.0), -0.5, 0.5)
    step = inverse[1] - inverse[0]
    depth = 1.0 / (inverse[best_plane] + shift * step)
    # Second best away from the winner's neighbourhood: a flat or repetitive cost curve
    # (no texture, occlusion) leaves little margin.
    for offset in (-2, -1, 0, 1, 2):
        volume[np.clip(best_plane + offset, 0, planes - 1) * (h * w) + pixels] = np.inf
    second = costs.min(axis=0)
    confidence = np.clip(1.0 - c0 / np.maximum(second, 1e-6), 0.0, 1.0)
    return depth.astype(np.float32), confidence.astype(np.float32)


def _mean_of_lowest(costs: list[np.ndarray], keep: int) -> np.ndarray:
    if keep == len(costs) - 1:
        dropped: np.ndarray = (np.sum(costs, axis=0) - np.max(costs, axis=0)) / keep
        return dropped
    if keep == 2 and len(costs) == 4:
        # The two lowest of four without a sort (a sorting network: 5 min/max passes;
        # OpenCV's are twice as fast as numpy's on these images).
        a, b, c, d = costs
        low_ab, high_ab = cv2.min(a, b), cv2.max(a, b)
        low_cd, high_cd = cv2.min(c, d), cv2.max(c, d)
        second = cv2.min(cv2.max(low_ab, low_cd), cv2.min(high_ab, high_cd))
        two: np.ndarray = cv2.addWeighted(cv2.min(low_ab, low_cd), 0.5, second, 0.5, 0.0)
        return two
    lowest = np.sort(np.stack(costs), axis=0)[:keep]
    mean: np.ndarray = lowest.mean(axis=0)
    return mean
