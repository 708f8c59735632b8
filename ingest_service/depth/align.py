"""Making a model's relative inverse depth metric in the camera solve's units.

A monocular model predicts inverse depth up to an unknown scale and shift that change
from frame to frame. The solve's scene points that project into a frame give true
depths at a few hundred pixels; a robust fit of 1/z = s * d + t against the prediction
d there gives each frame's (s, t) and how well the points pin it down. All frames are
then solved together with a temporal prior (the aligned depth changes little from one
frame to the next): frames with strong evidence keep their own fit, weak or missing fits
lean on their neighbours, and the fits' noise no longer flickers the depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest_service.errors import DepthUnavailableError

MIN_POINTS = 12  # fewer visible points than this and a frame's fit is not trusted


@dataclass(frozen=True)
class Fit:
    scale: float
    shift: float
    points: int  # visible points the fit used
    inliers: int
    residual: float  # median |error| of inliers, relative to their inverse depth
    # The inliers' least-squares normal equations, weighted by 1/noise^2: how strongly
    # this frame's points pin (s, t) down.
    normal: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)), repr=False)
    rhs: np.ndarray = field(default_factory=lambda: np.zeros(2), repr=False)
    spread: tuple[float, float] = (0.0, 1.0)  # the 10th and 90th percentile of d
    level: float = 1.0  # median inverse depth of the points


def visible_points(
    xyz: np.ndarray, c2w: np.ndarray, k: np.ndarray, width: int, height: int, *, cell: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, z) of the scene points in front of the camera and inside the frame.

    Without the solve's tracks a point hidden behind a nearer surface would also
    project into the frame; keeping only the nearest point per small image cell drops
    most of those before the robust fit sees them.
    """
    cam = (xyz - c2w[:3, 3]) @ c2w[:3, :3]
    z = cam[:, 2]
    front = z > 1e-9
    cam, z = cam[front], z[front]
    u = k[0, 0] * cam[:, 0] / z + k[0, 2]
    v = k[1, 1] * cam[:, 1] / z + k[1, 2]
    inside = (u >= 0) & (u <= width - 1) & (v >= 0) & (v <= height - 1)
    u, v, z = u[inside], v[inside], z[inside]
    cells = (v // cell).astype(np.int64) * (width // cell + 1) + (u // cell).astype(np.int64)
    order = np.argsort(z, kind="stable")
    _, first = np.unique(cells[order], return_index=True)
    keep = order[first]
    return u[keep], v[keep], z[keep]


def sample(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear samples of a 2-D array at float array positions (column u, row v; the
    first pixel's centre is 0, so image coordinates need 0.5 taken off)."""
    h, w = image.shape
    u = np.clip(u, 0, w - 1)
    v = np.clip(v, 0, h - 1)
    x0 = np.minimum(u.astype(np.int64), w - 2) if w > 1 else np.zeros_like(u, dtype=np.int64)
    y0 = np.minimum(v.astype(np.int64), h - 2) if h > 1 else np.zeros_like(v, dtype=np.int64)
    fx, fy = u - x0, v - y0
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    out: np.ndarray = top * (1 - fy) + bottom * fy
    return out


def fit_inverse_affine(predicted: np.ndarray, depth: np.ndarray) -> Fit | None:
    """Robust (s, t) with 1/depth ~ s * predicted + t; None when it cannot be trusted.

    Iteratively reweighted least squares with Tukey's biweight: outliers (occluded or
    mismatched points, moving objects) get no weight once the scale of the errors is
    known, without needing a threshold in the solve's arbitrary units.
    """
    ok = np.isfinite(predicted) & np.isfinite(depth) & (depth > 0)
    d, target = predicted[ok].astype(np.float64), 1.0 / depth[ok].astype(np.float64)
    if len(d) < MIN_POINTS or np.ptp(d) <= 1e-12:
        return None
    a = np.stack([d, np.ones_like(d)], axis=1)
    weights = np.ones_like(d)
    inliers = np.ones(len(d), dtype=bool)
    params = np.zeros(2)
    for _ in range(10):
        sw = np.sqrt(weights)
        params = np.linalg.lstsq(a * sw[:, None], target * sw, rcond=None)[0]
        residual = a @ params - target
        sigma = 1.4826 * np.median(np.abs(residual - np.median(residual)))
        sigma = max(sigma, 1e-6 * float(np.median(target)))
        r = residual / (4.685 * sigma)
        weights = np.where(np.abs(r) < 1, (1 - r**2) ** 2, 0.0)
        inliers = weights > 0
        if inliers.sum() < MIN_POINTS:
            return None
    scale, shift = float(params[0]), float(params[1])
    if scale <= 0:  # nearer must mean larger predicted inverse depth
        return None
    level = float(np.median(target))
    relative = np.abs(a[inliers] @ params - target[inliers]) / target[inliers]
    noise = max(float(sigma), 1e-4 * level)
    ai = a[inliers]
    return Fit(
        scale,
        shift,
        len(d),
        int(inliers.sum()),
        float(np.median(relative)),
        normal=ai.T @ ai / noise**2,
        rhs=ai.T @ target[inliers] / noise**2,
        spread=(float(np.percentile(d, 10)), float(np.percentile(d, 90))),
        level=level,
    )


def smooth(fits: list[Fit | None], tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (scale, shift) solved jointly: each frame's points, plus a prior that
    the aligned inverse depth changes by about `tolerance` (relative) per frame.

    The prior compares consecutive frames' aligned values at the predictions' 10th and
    90th percentiles, so it is in the same units as the data and needs no tuning per
    plate. The system is block tridiagonal and is solved in one sweep.
    """
    fitted = [f for f in fits if f]
    if not fitted:
        raise DepthUnavailableError(
            "depth could not be aligned to the camera: no frame sees enough solved points"
        )
    n = len(fits)
    level = float(np.median([f.level for f in fitted]))
    spread = (
        float(np.median([f.spread[0] for f in fitted])),
        float(np.median([f.spread[1] for f in fitted])),
    )
    rows = np.array([[spread[0], 1.0], [spread[1], 1.0]])
    prior = rows.T @ rows / (tolerance * level) ** 2
    diag = np.array([f.normal if f else np.zeros((2, 2)) for f in fits], dtype=np.float64)
    rhs = np.array([f.rhs if f else np.zeros(2) for f in fits], dtype=np.float64)
    for i in range(n - 1):
        diag[i] += prior
        diag[i + 1] += prior
    # Block Thomas algorithm: forward elimination, then back substitution.
    c = np.zeros((n, 2, 2))
    y = np.zeros((n, 2))
    for i in range(n):
        m = diag[i] + (prior @ c[i - 1] if i else 0.0)  # off-diagonal blocks are -prior
        m_inv = np.linalg.inv(m + np.eye(2) * 1e-12 * np.trace(m))
        c[i] = m_inv @ -prior if i < n - 1 else 0.0
        y[i] = m_inv @ (rhs[i] + (prior @ y[i - 1] if i else 0.0))
    params = np.zeros((n, 2))
    params[-1] = y[-1]
    for i in range(n - 2, -1, -1):
        params[i] = y[i] - c[i] @ params[i + 1]
    if (params[:, 0] <= 0).any():
        raise DepthUnavailableError(
            "depth could not be aligned to the camera: the fitted scale turns negative"
        )
    return params[:, 0], params[:, 1]


def to_depth(
    predicted: np.ndarray, scale: float, shift: float, *, far: float
) -> tuple[np.ndarray, np.ndarray]:
    """(z-depth, valid) from predicted inverse depth. Where the aligned inverse depth
    falls at or beyond 1/far (sky, or past the fitted range) depth is clamped to far
    and the pixel is marked not valid."""
    inverse = scale * predicted.astype(np.float64) + shift
    valid = inverse > 1.0 / far
    depth = 1.0 / np.maximum(inverse, 1.0 / far)
    return depth.astype(np.float32), valid
