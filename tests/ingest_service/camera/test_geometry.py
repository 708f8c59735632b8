"""Camera conventions on known cameras: the traps every DCC importer falls into."""

from __future__ import annotations

import numpy as np
import pytest

from ingest_service.camera.geometry import (
    gl_from_cv,
    matrix_from_nuke_zxy,
    matrix_to_quat,
    nuke_zxy_degrees,
    quat_to_matrix,
    slerp,
    up_aligned,
)


def test_opencv_camera_looking_down_plus_z_in_opengl() -> None:
    cv = np.eye(4)  # OpenCV: looks down world +Z, image up is world -Y
    gl = gl_from_cv(cv)
    view_direction = gl[:3, :3] @ np.array([0, 0, -1.0])  # GL cameras look down their -Z
    image_up = gl[:3, :3] @ np.array([0, 1.0, 0])
    assert np.allclose(view_direction, [0, 0, 1])
    assert np.allclose(image_up, [0, -1, 0])
    assert np.allclose(gl, np.diag([1, -1, -1, 1]))


def test_nuke_angles_of_known_cameras() -> None:
    assert np.allclose(nuke_zxy_degrees(np.eye(3)), (0, 0, 0))
    pan_left = matrix_from_nuke_zxy(0, 30, 0)  # yaw 30° about +Y
    assert np.allclose(pan_left @ [0, 0, -1], [-np.sin(np.radians(30)), 0, -np.cos(np.radians(30))])
    tilt_up = matrix_from_nuke_zxy(20, 0, 0)
    assert (tilt_up @ [0, 0, -1])[1] > 0  # looks up
    # The OpenCV identity camera seen by Nuke: facing +Z, upside down.
    rx, ry, rz = nuke_zxy_degrees(gl_from_cv(np.eye(4))[:3, :3])
    assert np.allclose(matrix_from_nuke_zxy(rx, ry, rz), np.diag([1, -1, -1]))


@pytest.mark.parametrize("angles", [(10, 20, 30), (-45, 170, -90), (80, -120, 5)])
def test_nuke_decomposition_round_trips(angles: tuple[float, float, float]) -> None:
    r = matrix_from_nuke_zxy(*angles)
    assert np.allclose(matrix_from_nuke_zxy(*nuke_zxy_degrees(r)), r)


def test_quaternions_round_trip_and_slerp() -> None:
    r = matrix_from_nuke_zxy(12, -70, 33)
    q = matrix_to_quat(r)
    assert q[0] >= 0
    assert np.allclose(quat_to_matrix(q), r)
    q0, q1 = matrix_to_quat(np.eye(3)), matrix_to_quat(matrix_from_nuke_zxy(0, 90, 0))
    half = quat_to_matrix(slerp(q0, q1, 0.5))
    assert np.allclose(half, matrix_from_nuke_zxy(0, 45, 0))


def test_up_alignment_puts_cameras_upright_at_the_origin() -> None:
    # Cameras rolled 90° in some arbitrary solve frame, somewhere far away.
    tilt = np.eye(4)
    tilt[:3, :3] = matrix_from_nuke_zxy(0, 0, 90) @ matrix_from_nuke_zxy(30, 0, 0)
    cams = []
    for x in np.linspace(0, 1, 5):
        c = tilt.copy()
        c[:3, 3] = [10 + x, 5, -3]
        cams.append(c)
    align = up_aligned(cams)
    aligned = [align @ c for c in cams]
    assert np.allclose(aligned[0][:3, 3], 0)
    up = -aligned[0][:3, 1]  # OpenCV camera up is its -Y
    assert np.allclose(up, [0, 1, 0])
    assert aligned[0][2, 2] < 0  # looks toward -Z
    assert np.allclose(np.linalg.det(align[:3, :3]), 1)
