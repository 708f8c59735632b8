"""Nodal solves from homographies with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from ingest_service.camera.geometry import matrix_from_nuke_zxy
from ingest_service.camera.rotation_only import (
    PairHomography,
    estimate_focal,
    rotation_residual,
    solve_rotations,
)
from ingest_service.stages.camera import _focal_hint_px

W, H, F = 960, 540, 820.0
K = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1]])


def _pan(frames: int) -> list[np.ndarray]:
    return [matrix_from_nuke_zxy(2 * np.sin(i / 5), 1.5 * i, 0.3 * i) for i in range(frames)]


def _homographies(rotations: list[np.ndarray]) -> list[PairHomography]:
    pairs = []
    for i in range(len(rotations)):
        for j in (i + 1, i + 2, i + 4):
            if j < len(rotations):
                h = K @ rotations[j].T @ rotations[i] @ np.linalg.inv(K)
                pairs.append(PairHomography(i, j, h * 3.7))  # any scale
    return pairs


def test_focal_and_rotations_are_recovered() -> None:
    truth = _pan(16)
    pairs = _homographies(truth)
    focal, residual = estimate_focal(pairs, W, H)
    assert focal == pytest.approx(F, rel=1e-3)
    assert residual < 1e-6
    solved = solve_rotations(pairs, 16, focal, W / 2, H / 2)
    for i, r in solved.items():
        relative = truth[0].T @ truth[i]  # frame 0 is the identity in the solve
        assert np.allclose(r, relative, atol=1e-6)


def test_translation_over_a_plane_is_not_taken_for_a_rotation() -> None:
    n, d = np.array([0, -1.0, 0]), 2.0  # a floor 2 units below the camera
    pairs = []
    for i in range(8):
        t = np.array([0.3 * (i + 1), 0, 0.2])
        h = K @ (np.eye(3) - np.outer(t, n) / d) @ np.linalg.inv(K)
        pairs.append(PairHomography(0, i + 1, h))
    _, residual = estimate_focal(pairs, W, H)
    assert residual > 0.02
    assert rotation_residual(pairs, F, W / 2, H / 2) > 0.02


def test_focal_hint_from_lens_and_sensor() -> None:
    assert _focal_hint_px(35.0, 36.0, 1920) == pytest.approx(1866.67, rel=1e-4)
    assert _focal_hint_px(50.0, None, 1000) == pytest.approx(1000 * 50 / 36)
    assert _focal_hint_px(None, 36.0, 1920) is None
