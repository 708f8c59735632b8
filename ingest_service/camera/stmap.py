"""ST-maps of the solved lens, for Nuke's STMap node (and Flame, Resolve, Houdini COPs).

Two float32 OpenEXR images at the plate's size, channels R and G (Nuke reads them into
rgba with blue and alpha black). Each pixel holds where the STMap node samples its `src`
input, in Nuke's normalised coordinates: 0 at the bottom-left corner of the frame, 1 at
the top-right, so the centre of the pixel in column i, row j (counted from the top) is

    R = (i + 0.5) / width,   G = 1 - (j + 0.5) / height.

* `stmap_undistort.exr`: the plate in `src` gives the pinhole image (the solve's K, the
  plate's size), in which CG renders with the published camera line up.
* `stmap_redistort.exr`: a pinhole image (a CG render) in `src` gives it the plate's lens.

Where the lens model has no answer (past the radius where strong barrel distortion folds
back) both channels are -1: off the frame. Half floats are 2 px apart near 1 on a 4K map
(samples up to a pixel off), so the maps are 32-bit; PIZ (lossless) makes them about a
sixth smaller than ZIP and writes faster.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import OpenEXR

from ingest_service.camera.lens import Lens
from ingest_service.camera.lens_maps import PixelMap, redistort_map, undistort_map

STMAP_UNDISTORT = "stmap_undistort.exr"
STMAP_REDISTORT = "stmap_redistort.exr"
INVALID = -1.0


def lens_outputs(
    lens: Lens, width: int, height: int, *, scratch: Path | None = None
) -> dict[str, bytes]:
    """Both ST-maps by file name, ready to publish beside camera.json (call it when
    `lens.distorted`; an undistorted lens gives identity maps)."""
    return {
        STMAP_UNDISTORT: stmap_exr(undistort_map(lens, width, height), scratch=scratch),
        STMAP_REDISTORT: stmap_exr(redistort_map(lens, width, height), scratch=scratch),
    }


def st_values(pixels: PixelMap) -> tuple[np.ndarray, np.ndarray]:
    """(R, G): a map's array positions in Nuke's normalised, bottom-up coordinates. The
    image sampled has the map's own size (both ST-maps go between plate-sized images)."""
    height, width = pixels.x.shape
    x, y = pixels.x.astype(np.float64), pixels.y.astype(np.float64)
    r = np.where(pixels.valid, (x + 0.5) / width, INVALID).astype(np.float32)
    g = np.where(pixels.valid, 1.0 - (y + 0.5) / height, INVALID).astype(np.float32)
    return r, g


def stmap_exr(pixels: PixelMap, *, scratch: Path | None = None) -> bytes:
    r, g = st_values(pixels)
    header = {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage}
    channels = {"R": r, "G": g}
    fd, name = tempfile.mkstemp(suffix=".exr", dir=scratch)
    os.close(fd)
    try:
        with OpenEXR.File(header, channels) as exr:
            exr.write(name)
        return Path(name).read_bytes()
    finally:
        Path(name).unlink(missing_ok=True)


def read_stmap_exr(data: bytes, *, scratch: Path | None = None) -> PixelMap:
    """An ST-map back as array positions, for `cv2.remap` (the tests' Nuke)."""
    fd, name = tempfile.mkstemp(suffix=".exr", dir=scratch)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        with OpenEXR.File(name) as exr:
            channels = exr.channels()
            r = np.array(channels["R"].pixels, dtype=np.float32)
            g = np.array(channels["G"].pixels, dtype=np.float32)
    finally:
        Path(name).unlink(missing_ok=True)
    height, width = r.shape
    valid = (r != INVALID) | (g != INVALID)
    x = (r.astype(np.float64) * width - 0.5).astype(np.float32)
    y = ((1.0 - g.astype(np.float64)) * height - 0.5).astype(np.float32)
    return PixelMap(x, y, valid)
