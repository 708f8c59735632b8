"""Lens distortion in the Brown-Conrady form COLMAP and OpenCV share (k1, k2, p1, p2).

Distortion maps ideal (pinhole) normalised image coordinates to where the lens puts them:

    r² = x² + y²
    x_d = x (1 + k1 r² + k2 r⁴) + 2 p1 x y + p2 (r² + 2 x²)
    y_d = y (1 + k1 r² + k2 r⁴) + p1 (r² + 2 y²) + 2 p2 x y

Undistortion has no closed form; it is solved per point by Newton's method, which converges
in a few steps for any lens a plate is shot with (|k1| < 0.5 at the frame's corners).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Intrinsics parameter layouts of the COLMAP camera models we read and write.
_LAYOUTS: dict[str, tuple[str, ...]] = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fx", "fy", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k1"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
}


@dataclass(frozen=True)
class Lens:
    """Pinhole intrinsics in pixels plus Brown-Conrady distortion."""

    fx: float
    fy: float
    cx: float
    cy: float
    k1: float = 0.0
    k2: float = 0.0
    p1: float = 0.0
    p2: float = 0.0

    @classmethod
    def from_colmap(cls, model: str, params: list[float] | np.ndarray) -> Lens:
        """From a COLMAP model name and its parameter list."""
        layout = _LAYOUTS.get(model)
        if layout is None:
            raise ValueError(f"unsupported camera model {model!r}; known: {', '.join(_LAYOUTS)}")
        if len(params) != len(layout):
            raise ValueError(f"{model} takes {len(layout)} parameters, got {len(params)}")
        values = dict(zip(layout, (float(v) for v in params), strict=True))
        if "f" in values:
            values["fx"] = values["fy"] = values.pop("f")
        return cls(**values)

    @property
    def distorted(self) -> bool:
        return any((self.k1, self.k2, self.p1, self.p2))

    def colmap(self) -> tuple[str, list[float]]:
        """The smallest COLMAP model that holds this lens, with its parameters."""
        one_focal = self.fx == self.fy
        if not self.distorted:
            if one_focal:
                return "SIMPLE_PINHOLE", [self.fx, self.cx, self.cy]
            return "PINHOLE", [self.fx, self.fy, self.cx, self.cy]
        if one_focal and not (self.p1 or self.p2):
            if not self.k2:
                return "SIMPLE_RADIAL", [self.fx, self.cx, self.cy, self.k1]
            return "RADIAL", [self.fx, self.cx, self.cy, self.k1, self.k2]
        return "OPENCV", [self.fx, self.fy, self.cx, self.cy, self.k1, self.k2, self.p1, self.p2]

    def scaled(self, factor: float) -> Lens:
        """The same lens for an image resized by `factor` (distortion terms are unitless)."""
        return Lens(
            self.fx * factor,
            self.fy * factor,
            self.cx * factor,
            self.cy * factor,
            self.k1,
            self.k2,
            self.p1,
            self.p2,
        )

    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    # Normalised coordinates (x, y on the z = 1 plane), arrays of shape (..., 2).

    def distort_normalised(self, xy: np.ndarray) -> np.ndarray:
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = 1 + self.k1 * r2 + self.k2 * r2 * r2
        xd = x * radial + 2 * self.p1 * x * y + self.p2 * (r2 + 2 * x * x)
        yd = y * radial + self.p1 * (r2 + 2 * y * y) + 2 * self.p2 * x * y
        return np.stack([xd, yd], axis=-1)

    def undistort_normalised(self, xy_d: np.ndarray, iterations: int = 20) -> np.ndarray:
        if not self.distorted:
            return np.array(xy_d, dtype=float, copy=True)
        xy = np.array(xy_d, dtype=float, copy=True)
        for _ in range(iterations):
            x, y = xy[..., 0], xy[..., 1]
            r2 = x * x + y * y
            radial = 1 + self.k1 * r2 + self.k2 * r2 * r2
            d_radial = 2 * self.k1 + 4 * self.k2 * r2  # d(radial)/d(r²) · 2
            # Jacobian of distort_normalised, for one Newton step per point.
            j11 = radial + x * d_radial * x + 2 * self.p1 * y + 6 * self.p2 * x
            j12 = x * d_radial * y + 2 * self.p1 * x + 2 * self.p2 * y
            j21 = y * d_radial * x + 2 * self.p1 * x + 2 * self.p2 * y
            j22 = radial + y * d_radial * y + 6 * self.p1 * y + 2 * self.p2 * x
            residual = self.distort_normalised(xy) - xy_d
            det = j11 * j22 - j12 * j21
            step_x = (j22 * residual[..., 0] - j12 * residual[..., 1]) / det
            step_y = (j11 * residual[..., 1] - j21 * residual[..., 0]) / det
            xy[..., 0] -= step_x
            xy[..., 1] -= step_y
            if float(np.max(np.abs(residual), initial=0.0)) < 1e-12:
                break
        return xy

    # Pixel coordinates, shape (..., 2), in the convention cx, cy are given in. Published
    # intrinsics use COLMAP's: the top-left pixel's centre is (0.5, 0.5), so the centre of
    # a W x H frame is (W/2, H/2); OpenCV arrays index pixel centres at integers (add 0.5).

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        return np.stack(
            [(pixels[..., 0] - self.cx) / self.fx, (pixels[..., 1] - self.cy) / self.fy], axis=-1
        )

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        return np.stack([xy[..., 0] * self.fx + self.cx, xy[..., 1] * self.fy + self.cy], axis=-1)

    def distort_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Where the lens puts points that an ideal pinhole would image at `pixels`."""
        return self.to_pixels(self.distort_normalised(self.normalise(pixels)))

    def undistort_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Where an ideal pinhole would image points the lens put at `pixels`."""
        return self.to_pixels(self.undistort_normalised(self.normalise(pixels)))
