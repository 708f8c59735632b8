"""ST-maps as Nuke reads them: identity without distortion, known answers, round trips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest

from ingest_service.camera.lens import Lens
from ingest_service.camera.stmap import (
    STMAP_REDISTORT,
    STMAP_UNDISTORT,
    lens_outputs,
    read_stmap_exr,
)

W, H = 192, 108
BARREL = Lens(170, 170, 96.3, 53.8, k1=-0.18, k2=0.04, p1=0.002, p2=-0.001)


def _channels(data: bytes, tmp_path: Path) -> dict[str, np.ndarray]:
    path = tmp_path / "map.exr"
    path.write_bytes(data)
    with OpenEXR.File(str(path)) as exr:
        return {name: np.array(c.pixels) for name, c in exr.channels().items()}


def _nuke_identity() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:H, 0:W].astype(np.float64)
    return (cols + 0.5) / W, 1.0 - (rows + 0.5) / H


def test_maps_are_float32_red_and_green_at_the_plate_size(tmp_path: Path) -> None:
    maps = lens_outputs(BARREL, W, H, scratch=tmp_path)
    assert (
        set(maps)
        == {STMAP_UNDISTORT, STMAP_REDISTORT}
        == {
            "stmap_undistort.exr",
            "stmap_redistort.exr",
        }
    )
    for data in maps.values():
        channels = _channels(data, tmp_path)
        assert set(channels) == {"R", "G"}
        assert all(c.dtype == np.float32 and c.shape == (H, W) for c in channels.values())


def test_a_lens_without_distortion_gives_nukes_identity_map(tmp_path: Path) -> None:
    r, g = _nuke_identity()
    for data in lens_outputs(Lens(170, 170, 96, 54), W, H, scratch=tmp_path).values():
        channels = _channels(data, tmp_path)
        # Pixel centres: the bottom-left pixel reads (0.5/W, 0.5/H), never 0.
        assert channels["R"][H - 1, 0] == pytest.approx(0.5 / W, abs=1e-8)
        assert channels["G"][H - 1, 0] == pytest.approx(0.5 / H, abs=1e-8)
        assert np.allclose(channels["R"], r, atol=1e-7)
        assert np.allclose(channels["G"], g, atol=1e-7)


def test_a_pinhole_pixel_samples_the_plate_where_the_lens_put_it(tmp_path: Path) -> None:
    maps = lens_outputs(BARREL, W, H, scratch=tmp_path)
    undistort = _channels(maps[STMAP_UNDISTORT], tmp_path)
    redistort = _channels(maps[STMAP_REDISTORT], tmp_path)
    for col, row in [(10, 7), (150, 90), (96, 54), (0, 0), (W - 1, H - 1)]:
        # camera.json's coordinates: the pixel's centre is at (col + 0.5, row + 0.5).
        centre = np.array([col + 0.5, row + 0.5])
        x, y = BARREL.distort_pixels(centre)
        assert undistort["R"][row, col] == pytest.approx(x / W, abs=1e-6)
        assert undistort["G"][row, col] == pytest.approx(1 - y / H, abs=1e-6)
        x, y = BARREL.undistort_pixels(centre)
        assert redistort["R"][row, col] == pytest.approx(x / W, abs=1e-6)
        assert redistort["G"][row, col] == pytest.approx(1 - y / H, abs=1e-6)


def test_undistort_then_redistort_gives_the_plate_back(tmp_path: Path) -> None:
    maps = lens_outputs(BARREL, W, H, scratch=tmp_path)
    undistort = read_stmap_exr(maps[STMAP_UNDISTORT], scratch=tmp_path)
    redistort = read_stmap_exr(maps[STMAP_REDISTORT], scratch=tmp_path)
    # Where each plate pixel lands after both maps, in pixels.
    back_x = cv2.remap(undistort.x, redistort.x, redistort.y, cv2.INTER_LINEAR)
    back_y = cv2.remap(undistort.y, redistort.x, redistort.y, cv2.INTER_LINEAR)
    rows, cols = np.mgrid[0:H, 0:W]
    kept = redistort.inside(W, H)
    kept[:8], kept[-8:], kept[:, :8], kept[:, -8:] = False, False, False, False
    # Barrel distortion: the plate's edges fall outside the pinhole frame and are lost.
    assert 0.7 < kept.mean() < 0.95
    error = np.hypot(back_x - cols, back_y - rows)[kept]
    assert error.max() < 0.02
    # And an image: a smooth pattern comes back within a few grey levels in 255.
    pattern = (127 + 60 * np.sin(cols / 5.0) * np.cos(rows / 7.0)).astype(np.float32)
    round_trip = redistort.remap(undistort.remap(pattern))
    assert np.abs(round_trip - pattern)[kept].max() < 3


def test_where_the_lens_model_folds_back_the_map_points_off_the_frame(tmp_path: Path) -> None:
    # A fisheye-strength k1 on a wide view: past ~0.82 off axis the model turns back.
    wide = Lens(80, 80, 96, 54, k1=-0.5)
    maps = lens_outputs(wide, W, H, scratch=tmp_path)
    undistort = _channels(maps[STMAP_UNDISTORT], tmp_path)
    corner, centre = (0, 0), (54, 96)
    assert (undistort["R"][corner], undistort["G"][corner]) == (-1.0, -1.0)
    assert 0 < undistort["R"][centre] < 1
    again = read_stmap_exr(maps[STMAP_UNDISTORT], scratch=tmp_path)
    assert not again.valid[corner] and again.valid[centre]
    plate = np.full((H, W), 200, np.uint8)
    assert again.remap(plate)[corner] == 0  # off the frame: black, as STMap gives
