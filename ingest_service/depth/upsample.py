"""Edge-aware upsampling: depth measured at reduced size, brought to the frame's size
along the frame's own edges with a guided filter (He et al. 2010): within each window,
depth is fitted as a linear function of the frame's brightness, so its edges follow the
image's instead of the low-resolution grid's stair steps."""

from __future__ import annotations

import cv2
import numpy as np

RADIUS = 4  # pixels at the output size
EPSILON = 1e-3  # brightness variance (0..1 grey) below which depth is smoothed, not shaped


def guided_upsample(depth: np.ndarray, bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`depth` (float32) at `size` (width, height), edges guided by `bgr` at that size."""
    guide = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    guide = guide.astype(np.float32) / 255
    # Inverse depth varies linearly across a plane in the image: fit that, not depth.
    p = 1.0 / cv2.resize(depth, size, interpolation=cv2.INTER_LINEAR)
    # The fit may overshoot at strong edges: never beyond the depths it was given.
    inverse = np.clip(guided_filter(guide, p, RADIUS, EPSILON), p.min(), p.max())
    result: np.ndarray = 1.0 / inverse
    return result.astype(np.float32)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """`src` smoothed within (2 radius + 1)² windows as a linear function of `guide`
    (float32 grey, 0..1): it keeps the guide's edges where the two agree."""
    window = (2 * radius + 1, 2 * radius + 1)

    def mean(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = cv2.boxFilter(x, -1, window)
        return out

    mean_i, mean_p = mean(guide), mean(src)
    var_i = mean(guide * guide) - mean_i * mean_i
    cov_ip = mean(guide * src) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    out: np.ndarray = mean(a) * guide + mean(b)
    return out
