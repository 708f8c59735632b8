"""Resampling between the plate, as its lens drew it, and the solve's pinhole camera.

Both images have the plate's size and the solve's K: the pinhole image is the plate with
the lens's distortion taken out, nothing cropped or rescaled. A `PixelMap` says, for each
pixel of the image being made, where to sample the other one (what `cv2.remap` and an
ST-map both want).

Pixel coordinates are camera.json's, which are COLMAP's: the first pixel's centre is at
(0.5, 0.5), so the pixel in column i, row j sits at (i + 0.5, j + 0.5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from ingest_service.camera.lens import Lens

PIXEL_CENTRE = 0.5  # where the first pixel's centre lies in the intrinsics' coordinates
OUTSIDE = -1.0e4  # an array position far off any image: remap gives the border colour
# Maps are built in bands of rows this many pixels big: the float64 scratch of the Newton
# steps then stays in cache (twice as fast as half-megapixel bands, and memory stays flat).
PIXELS_PER_BAND = 1 << 16
INVERSE_TOLERANCE_PX = 1e-3  # an undistorted point must distort back to within this

# Maps a band of pixel coordinates (rows, columns, 2) to where to sample, and which are valid.
Band = Callable[[Lens, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class PixelMap:
    """For each pixel of the output image, the array position (column x, row y) in the
    input image to sample. `valid` is False where the lens model gives no answer (past the
    radius where its distortion folds back); those positions are `OUTSIDE`."""

    x: np.ndarray  # float32 (height, width)
    y: np.ndarray  # float32 (height, width)
    valid: np.ndarray  # bool (height, width)

    def inside(self, width: int, height: int) -> np.ndarray:
        """Output pixels whose sample lies within an input image of this size."""
        out: np.ndarray = (
            self.valid
            & (self.x >= -0.5)
            & (self.x <= width - 0.5)
            & (self.y >= -0.5)
            & (self.y <= height - 0.5)
        )
        return out

    def remap(self, image: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """The output image; black where the sample falls off the input."""
        out: np.ndarray = cv2.remap(
            image, self.x, self.y, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        return out


def undistort_map(lens: Lens, width: int, height: int) -> PixelMap:
    """For each pixel of the pinhole image, where to sample the plate (closed form)."""
    return _build(lens, width, height, _distort_band)


def redistort_map(lens: Lens, width: int, height: int) -> PixelMap:
    """For each pixel of the plate, where to sample the pinhole image (Newton per pixel)."""
    return _build(lens, width, height, _undistort_band)


def _build(lens: Lens, width: int, height: int, band: Band) -> PixelMap:
    x = np.empty((height, width), np.float32)
    y = np.empty((height, width), np.float32)
    valid = np.empty((height, width), bool)
    columns = np.arange(width, dtype=np.float64) + PIXEL_CENTRE
    band_rows = max(1, PIXELS_PER_BAND // width)
    for top in range(0, height, band_rows):
        rows = np.arange(top, min(height, top + band_rows), dtype=np.float64) + PIXEL_CENTRE
        grid = np.stack(np.meshgrid(columns, rows), axis=-1)
        there, ok = band(lens, grid)
        span = slice(top, top + len(rows))
        valid[span] = ok
        x[span] = np.where(ok, there[..., 0] - PIXEL_CENTRE, OUTSIDE)
        y[span] = np.where(ok, there[..., 1] - PIXEL_CENTRE, OUTSIDE)
    return PixelMap(x, y, valid)


def _distort_band(lens: Lens, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ideal = lens.normalise(pixels)
    return lens.to_pixels(lens.distort_normalised(ideal)), _unfolded(lens, ideal)


def _undistort_band(lens: Lens, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):  # points with no inverse diverge; they are caught below
        ideal = lens.undistort_normalised(lens.normalise(pixels))
        back = lens.to_pixels(lens.distort_normalised(ideal))
        error = np.hypot(*(back - pixels).transpose(2, 0, 1))
        ok = np.isfinite(error) & (error < INVERSE_TOLERANCE_PX) & _unfolded(lens, ideal)
    return np.where(ok[..., None], lens.to_pixels(ideal), 0.0), ok


def _unfolded(lens: Lens, ideal: np.ndarray) -> np.ndarray:
    """Inside the radius where the radial distortion still grows with the angle off axis.

    Past it (strong barrel distortion, far off axis) the model folds back on itself and no
    real lens images anything there. Tangential terms are small and left out of the test.
    """
    r2 = np.sum(ideal * ideal, axis=-1)
    out: np.ndarray = 1 + 3 * lens.k1 * r2 + 5 * lens.k2 * r2 * r2 > 0
    return out


class PlateLens:
    """The plate's lens, for images of the plate's size: to the solve's pinhole camera and
    back. Each map is built once, on first use; without distortion images pass untouched."""

    def __init__(self, lens: Lens, width: int, height: int) -> None:
        self.lens = lens
        self.width = width
        self.height = height

    @property
    def distorted(self) -> bool:
        return self.lens.distorted

    @property
    def geometry(self) -> str:
        """What images from `to_pinhole` are: "undistorted" or, with no distortion, "plate"."""
        return "undistorted" if self.distorted else "plate"

    @cached_property
    def _to_pinhole(self) -> PixelMap:
        return undistort_map(self.lens, self.width, self.height)

    @cached_property
    def _to_plate(self) -> PixelMap:
        return redistort_map(self.lens, self.width, self.height)

    @cached_property
    def covered(self) -> np.ndarray:
        """Pinhole pixels that the plate covers (pincushion distortion leaves the edges bare)."""
        if not self.distorted:
            return np.ones((self.height, self.width), bool)
        return self._to_pinhole.inside(self.width, self.height)

    def to_pinhole(self, image: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """A plate-sized image as the pinhole camera would have seen it."""
        if not self.distorted:
            return image
        self._check(image)
        return self._to_pinhole.remap(image, interpolation)

    def to_plate(self, image: np.ndarray, interpolation: int = cv2.INTER_NEAREST) -> np.ndarray:
        """A pinhole image (a mask, a render) with the lens's distortion put back."""
        if not self.distorted:
            return image
        self._check(image)
        return self._to_plate.remap(image, interpolation)

    def _check(self, image: np.ndarray) -> None:
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"image is {image.shape[1]}x{image.shape[0]}; the lens is for "
                f"{self.width}x{self.height}"
            )
