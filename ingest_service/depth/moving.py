"""What depth a pixel that moves on its own is given.

Multi-view stereo assumes a static scene: on something moving on its own the cheapest plane
is wherever its warps happen to agree, often the wall behind it. Filling it from its
surroundings would paint it with the background. A moving object stands in front of what
surrounds it, except where it touches it (the floor under a walker), so it takes the
nearest of its surroundings' depths, and its confidence says it was not measured.
"""

from __future__ import annotations

import cv2
import numpy as np

RING = 7  # pixels around a moving blob whose depth it may take
NEAREST = 5  # percentile of the ring's depth: the nearest surface, robust to a few outliers


def left_out(depth: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """`depth` with each moving blob set to the nearest depth just outside it."""
    if not moving.any():
        return depth
    out = depth.copy()
    count, labels = cv2.connectedComponents(moving.astype(np.uint8), connectivity=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1, 2 * RING + 1))
    for label in range(1, count):
        blob = labels == label
        ring = cv2.dilate(blob.astype(np.uint8), kernel).astype(bool) & ~moving
        if ring.any():
            out[blob] = np.percentile(depth[ring], NEAREST)
    return out
