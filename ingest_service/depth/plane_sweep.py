"""Multi-view plane-sweep stereo: depth from solved cameras and neighbouring frames.

For each of N depths between the near and far planes (uniform in inverse depth), every
neighbour is warped onto the reference frame through the plane's homography; the depth
whose warps agree best with the reference (windowed absolute difference) wins, refined to
sub-plane precision by a parabola through its neighbours' costs. Confidence is how much
better the winner is than the second-best depth outside its immediate neighbourhood.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


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
) -> tuple[np.ndarray, np.ndarray]:
    """(z-depth, confidence in 0..1) at the reference view's resolution."""
    h, w = ref.gray.shape
    inverse = np.linspace(1.0 / near, 1.0 / far, planes)
    costs = np.empty((planes, h, w), np.float32)
    k_inv = np.linalg.inv(ref.k)
    normal = np.array([[0.0, 0.0, 1.0]])
    relatives = [np.linalg.inv(n.c2w) @ ref.c2w for n in neighbours]  # neighbour_from_ref
    for i, inv_depth in enumerate(inverse):
        total = np.zeros((h, w), np.float32)
        weight = np.zeros((h, w), np.float32)
        for view, rel in zip(neighbours, relatives, strict=True):
            # Points on the plane z = d satisfy nᵀX / d = 1, so X' = (R + t nᵀ / d) X.
            hom = view.k @ (rel[:3, :3] + rel[:3, 3:4] @ normal * inv_depth) @ k_inv
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            warped = cv2.warpPerspective(view.gray, hom, (w, h), flags=flags, borderValue=-1.0)
            valid = (warped >= 0).astype(np.float32)
            total += np.abs(warped - ref.gray) * valid
            weight += valid
        mean = np.where(weight > 0, total / np.maximum(weight, 1), 1.0)
        costs[i] = cv2.boxFilter(mean, -1, (window, window))
    best = np.argmin(costs, axis=0)
    rows, cols = np.indices((h, w))
    c0 = costs[best, rows, cols]
    lower = costs[np.maximum(best - 1, 0), rows, cols]
    upper = costs[np.minimum(best + 1, planes - 1), rows, cols]
    denom = lower - 2 * c0 + upper
    shift = np.where(denom > 1e-6, 0.5 * (lower - upper) / np.maximum(denom, 1e-6), 0.0)
    shift = np.clip(np.where((best > 0) & (best < planes - 1), shift, 0.0), -0.5, 0.5)
    step = inverse[1] - inverse[0]
    depth = 1.0 / (inverse[best] + shift * step)
    # Second best away from the winner's neighbourhood: a flat or repetitive cost curve
    # (no texture, occlusion) leaves little margin.
    masked = costs.copy()
    for offset in (-2, -1, 0, 1, 2):
        masked[np.clip(best + offset, 0, planes - 1), rows, cols] = np.inf
    second = masked.min(axis=0)
    confidence = np.clip(1.0 - c0 / np.maximum(second, 1e-6), 0.0, 1.0)
    return depth.astype(np.float32), confidence.astype(np.float32)
