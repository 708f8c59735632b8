"""What the solver keeps when the mapper splits a plate into several models."""

from __future__ import annotations

import numpy as np
import pycolmap
import pytest

from ingest_service.camera.features_solve import _outcome
from ingest_service.camera.solution import SolveKind
from ingest_service.errors import CameraSolveError

NAMES = [f"frame.{i:04d}.png" for i in range(1, 9)]


def _model(frames: list[int]) -> pycolmap.Reconstruction:
    model = pycolmap.Reconstruction()
    camera = pycolmap.Camera(
        model="SIMPLE_RADIAL", width=160, height=90, params=[120, 80, 45, 0.01], camera_id=1
    )
    model.add_camera_with_trivial_rig(camera)
    for i in frames:
        image = pycolmap.Image(name=NAMES[i], camera_id=1, image_id=i + 1)
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(np.eye(3)), np.array([-i, 0, 0.0]))
        model.add_image_with_trivial_frame(image, pose)
    return model


def test_largest_model_is_kept_and_the_split_reported() -> None:
    outcome = _outcome({0: _model([0, 1, 2]), 1: _model([3, 4, 5, 6, 7])}, NAMES, None, {})
    assert outcome.kind is SolveKind.FULL
    assert sorted(outcome.cameras) == [3, 4, 5, 6, 7]
    assert outcome.split == [5, 3]
    assert np.allclose(outcome.cameras[4][:3, 3], [4, 0, 0])  # camera centre = -Rᵀt
    assert outcome.params == [120, 80, 45, 0.01]


def test_one_model_reports_no_split() -> None:
    assert _outcome({0: _model([0, 1, 2, 3])}, NAMES, None, {}).split == []


def test_no_model_is_a_clear_error() -> None:
    with pytest.raises(CameraSolveError, match="could not start a model"):
        _outcome({}, NAMES, None, {})
