"""Aligning relative inverse depth to the solve: known answers on synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from ingest_service.depth import align
from ingest_service.errors import DepthUnavailableError
from ingest_service.samples.scene import Scene, motion


def test_fit_recovers_scale_and_shift_despite_outliers() -> None:
    rng = np.random.default_rng(1)
    z = rng.uniform(2.0, 30.0, 400)
    scale, shift = 0.37, 0.012
    predicted = (1.0 / z - shift) / scale
    predicted += rng.normal(0, 0.002, len(z))  # model noise
    bad = rng.choice(len(z), 80, replace=False)  # 20 % occluded or moving points
    predicted[bad] = rng.uniform(predicted.min(), predicted.max(), len(bad))
    fit = align.fit_inverse_affine(predicted, z)
    assert fit is not None
    assert fit.scale == pytest.approx(scale, rel=0.02)
    assert fit.shift == pytest.approx(shift, abs=0.002)
    assert 300 <= fit.inliers <= 330  # the outliers are rejected, the rest kept


def test_fit_refuses_too_few_points_or_a_flat_prediction() -> None:
    z = np.linspace(2, 10, 8)
    assert align.fit_inverse_affine(1 / z, z) is None
    assert align.fit_inverse_affine(np.ones(100), np.linspace(2, 10, 100)) is None
    # Far must not be predicted nearer: a negative scale is not a fit.
    z = np.linspace(2, 10, 100)
    assert align.fit_inverse_affine(z, z) is None


def _noisy_fit(rng: np.random.Generator, scale: float, shift: float, noise: float) -> align.Fit:
    z = rng.uniform(2.0, 30.0, 150)
    predicted = (1.0 / z - shift) / scale + rng.normal(0, noise, len(z))
    fit = align.fit_inverse_affine(predicted, z)
    assert fit is not None
    return fit


def test_the_temporal_prior_removes_fit_jitter_and_fills_frames_without_a_fit() -> None:
    rng = np.random.default_rng(2)
    fits: list[align.Fit | None] = [_noisy_fit(rng, 0.4, 0.01, 0.01) for _ in range(30)]
    fits[10] = fits[11] = None
    # Fits this noisy jitter by about 0.5 % a frame; a prior tighter than that wins.
    scale, shift = align.smooth(fits, 0.002)
    raw = np.array([f.scale if f else np.nan for f in fits])
    assert np.nanstd(np.diff(raw)) > 3 * np.std(np.diff(scale))
    assert np.allclose(scale, 0.4, rtol=0.05)
    assert 0.38 < scale[10] < 0.42 and abs(shift[11] - 0.01) < 0.003


def test_strong_evidence_keeps_each_frames_own_alignment() -> None:
    """A model whose scale really jumps between frames, with exact points: the prior
    must not smear one frame's alignment into the next."""
    rng = np.random.default_rng(4)
    truth = [(rng.uniform(0.2, 2.0), rng.uniform(0.0, 0.05)) for _ in range(12)]
    fits: list[align.Fit | None] = [_noisy_fit(rng, s, t, 0.0) for s, t in truth]
    scale, shift = align.smooth(fits, 0.02)
    assert np.allclose(scale, [s for s, _ in truth], rtol=1e-3)
    assert np.allclose(shift, [t for _, t in truth], atol=1e-4)


def test_frames_far_from_any_fit_take_the_nearest_one() -> None:
    rng = np.random.default_rng(6)
    fits: list[align.Fit | None] = [None] * 20
    fits[0] = _noisy_fit(rng, 2.0, 0.5, 0.0)
    scale, shift = align.smooth(fits, 0.02)
    assert np.allclose(scale, 2.0, rtol=1e-3) and np.allclose(shift, 0.5, atol=1e-3)
    with pytest.raises(DepthUnavailableError, match="no frame sees enough"):
        align.smooth([None, None], 0.02)


def test_nearest_point_per_cell_hides_points_behind_a_surface() -> None:
    k = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])
    near = np.array([[0.0, 0.0, 2.0]])
    behind = np.array([[0.0, 0.0, 5.0]])  # same pixel, further away
    u, v, z = align.visible_points(np.vstack([behind, near]), np.eye(4), k, 100, 100)
    assert z.tolist() == [2.0] and u.tolist() == [50.0] and v.tolist() == [50.0]


def test_aligned_prediction_matches_a_rendered_depth() -> None:
    """True inverse depth, distorted by an unknown affine map, is made metric again from
    the scene points the camera sees, including ones a box hides."""
    scene, cams = Scene(), motion("dolly", 5)
    f, w, h = 200.0, 160, 90
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])
    truth = scene.render(cams[2], f, w, h).depth
    predicted = (1.0 / truth - 0.02) / 5.0
    # Scene points as a solve would have them: surface points seen from other cameras,
    # some of them hidden from this one.
    rng = np.random.default_rng(3)
    clouds = []
    for c2w in (cams[0], cams[4]):
        z_other = scene.render(c2w, f, w, h).depth
        px, py = rng.integers(0, w, 400), rng.integers(0, h, 400)
        rays = np.stack([(px + 0.5 - w / 2) / f, (py + 0.5 - h / 2) / f, np.ones(400)], 1)
        clouds.append((rays * z_other[py, px][:, None]) @ c2w[:3, :3].T + c2w[:3, 3])
    xyz = np.concatenate(clouds)
    u, v, z = align.visible_points(xyz, cams[2], k, w, h)
    fit = align.fit_inverse_affine(align.sample(predicted, u - 0.5, v - 0.5), z)
    assert fit is not None
    depth, valid = align.to_depth(predicted, fit.scale, fit.shift, far=100.0)
    absrel = np.mean(np.abs(depth[valid] - truth[valid]) / truth[valid])
    assert absrel < 0.02
    assert valid.mean() > 0.99


def test_depth_beyond_far_is_clamped_and_marked() -> None:
    predicted = np.array([[1.0, 0.0]])
    depth, valid = align.to_depth(predicted, 1.0, 0.0, far=50.0)
    assert depth[0, 0] == pytest.approx(1.0) and valid[0, 0]
    assert depth[0, 1] == pytest.approx(50.0) and not valid[0, 1]
