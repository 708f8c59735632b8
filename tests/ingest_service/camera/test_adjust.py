"""The solve's bundle adjustment is pycolmap's, without the console noise."""

from __future__ import annotations

import numpy as np
import pycolmap
import pytest

from ingest_service.camera.refine import adjust

W, H, F = 320, 180, 250.0


def _noisy_model(seed: int = 0) -> pycolmap.Reconstruction:
    """Six cameras along a dolly seeing 200 points, observations with 0.5 px of noise and
    poses and points nudged off the truth, so the adjustment has work to do."""
    rng = np.random.default_rng(seed)
    points = rng.uniform([-3, -2, 6], [3, 2, 12], (200, 3))
    rec = pycolmap.Reconstruction()
    camera = pycolmap.Camera.create_from_model_name(1, "RADIAL", F, W, H)
    rec.add_camera_with_trivial_rig(camera)
    observed: dict[int, list[tuple[int, int]]] = {}
    for i in range(6):
        centre = np.array([0.3 * i, 0.0, 0.0])
        local = points - centre
        xy = F * local[:, :2] / local[:, 2:] + [W / 2, H / 2]
        xy += rng.normal(0, 0.5, xy.shape)
        image = pycolmap.Image(name=f"{i}.png", camera_id=1, image_id=i + 1, keypoints=xy)
        nudge = rng.normal(0, 0.01, 3) if i else np.zeros(3)
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(np.eye(3)), -centre + nudge)
        rec.add_image_with_trivial_frame(image, pose)
        for p in range(len(points)):
            observed.setdefault(p, []).append((i + 1, p))
    for p, xyz in enumerate(points):
        track = pycolmap.Track()
        for image_id, index in observed[p]:
            track.add_element(image_id, index)
        rec.add_point3D(xyz + rng.normal(0, 0.02, 3), track, np.zeros(3, np.uint8))
    return rec


def _options() -> pycolmap.BundleAdjustmentOptions:
    options = pycolmap.BundleAdjustmentOptions()
    options.refine_principal_point = False
    options.print_summary = False
    return options


def test_adjust_gives_pycolmaps_answer_to_the_bit_and_prints_nothing(
    capfd: pytest.CaptureFixture[str],
) -> None:
    ours, theirs = _noisy_model(), _noisy_model()
    pycolmap.logging.minloglevel = 2
    capfd.readouterr()
    adjust(ours, _options())
    assert capfd.readouterr().err == ""
    assert pycolmap.logging.minloglevel == 2  # pycolmap.bundle_adjustment sets it back to 0
    pycolmap.bundle_adjustment(theirs, _options())
    for image_id in ours.reg_image_ids():
        a = ours.images[image_id].cam_from_world().matrix()
        assert np.array_equal(a, theirs.images[image_id].cam_from_world().matrix())
    for point_id in ours.points3D:
        assert np.array_equal(ours.points3D[point_id].xyz, theirs.points3D[point_id].xyz)
    assert list(ours.cameras[1].params) == list(theirs.cameras[1].params)
    # And it did adjust: the focal length moved off its start to fit the noise.
    assert ours.cameras[1].params[0] != F
