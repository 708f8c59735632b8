"""Brown-Conrady lens model: round trips, COLMAP layouts, known values."""

from __future__ import annotations

import numpy as np
import pytest

from ingest_service.camera.lens import Lens


def test_undistort_inverts_distort_over_a_wide_barrel_lens() -> None:
    lens = Lens(560, 560, 480, 270, k1=-0.2, k2=0.05, p1=0.001, p2=-0.002)
    pixels = np.random.default_rng(0).uniform([0, 0], [960, 540], (2000, 2))
    assert np.abs(lens.distort_pixels(lens.undistort_pixels(pixels)) - pixels).max() < 1e-6


def test_barrel_distortion_pulls_corners_in_and_leaves_the_centre() -> None:
    lens = Lens(700, 700, 480, 270, k1=-0.1)
    centre, corner = np.array([480.0, 270.0]), np.array([0.0, 0.0])
    assert np.allclose(lens.distort_pixels(centre), centre)
    moved = lens.distort_pixels(corner)
    r2 = (480**2 + 270**2) / 700**2
    assert np.allclose(moved, centre + (corner - centre) * (1 - 0.1 * r2))


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("SIMPLE_PINHOLE", [800, 480, 270]),
        ("PINHOLE", [800, 810, 480, 270]),
        ("SIMPLE_RADIAL", [800, 480, 270, -0.05]),
        ("RADIAL", [800, 480, 270, -0.05, 0.01]),
        ("OPENCV", [800, 810, 480, 270, -0.05, 0.01, 0.001, 0.002]),
    ],
)
def test_colmap_layouts_round_trip(model: str, params: list[float]) -> None:
    lens = Lens.from_colmap(model, params)
    assert lens.colmap() == (model, [float(v) for v in params])


def test_scaling_keeps_distortion_and_scales_pixels() -> None:
    lens = Lens(800, 800, 480, 270, k1=-0.1).scaled(0.5)
    assert (lens.fx, lens.cx, lens.cy, lens.k1) == (400, 240, 135, -0.1)


def test_unknown_model_and_wrong_parameter_count_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported camera model"):
        Lens.from_colmap("FISHEYE", [1, 2, 3])
    with pytest.raises(ValueError, match="RADIAL takes 5"):
        Lens.from_colmap("RADIAL", [1, 2, 3])
