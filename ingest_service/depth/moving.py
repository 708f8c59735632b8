"""What depth a pixel that moves on its own is given.

Multi-view stereo assumes a static scene: on something moving on its own the cheapest plane
is wherever its warps happen to agree, often the wall behind it. Filling it from its
surroundings would paint it with the background. Its own motion cannot set its depth
either: a thing moving along the camera's path looks the same at any depth whose speed
scales with it, so its depth is a guess, and its confidence says so. The guess: it stands in
front of what surrounds it, and it is the plate's foreground, no farther than the nearest
surface the frame measures. Guessing too near errs by at most its depth; too far, by any
multiple of it (the rising box of the benchmark plates was put 1.5 to 3 times too far by
its surroundings alone).
"""

from __future__ import annotations

import cv2
import numpy as np

RING = 7  # pixels around a moving blob whose depth it may take
NEAREST = 5  # percentile of the ring's depth: the nearest surface, robust to a few outliers
FOREGROUND = 1  # percentile of the frame's measured depth: its nearest surface


def left_out(
    depth: np.ndarray, moving: np.ndarray, measured: np.ndarray | None = None
) -> np.ndarray:
    """`depth` with each moving blob set to the nearest depth just outside it, or to the
    nearest depth the frame measures (`measured`: bool, pixels whose depth was measured;
    None: every pixel that does not move) where that is nearer."""
    if not moving.any():
        return depth
    out = depth.copy()
    sure = ~moving if measured is None else measured & ~moving
    foreground = float(np.percentile(depth[sure], FOREGROUND)) if sure.any() else np.inf
    count, labels = cv2.connectedComponents(moving.astype(np.uint8), connectivity=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1, 2 * RING + 1))
    for label in range(1, count):
        blob = labels == label
        ring = cv2.dilate(blob.astype(np.uint8), kernel).astype(bool) & ~moving
        around = float(np.percentile(depth[ring], NEAREST)) if ring.any() else np.inf
        nearest = min(around, foreground)
        if np.isfinite(nearest):
            out[blob] = nearest
    return out
