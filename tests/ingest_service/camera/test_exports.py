"""Each export written, read back and compared on a known camera path."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pycolmap
import pytest

from ingest_service.camera.export_colmap import colmap_text
from ingest_service.camera.export_usd import camera_usda, read_usda_camera
from ingest_service.camera.exports import (
    camera_csv,
    nuke_chan,
    points_ply,
    read_chan,
    read_points_ply,
    transforms_json,
)
from ingest_service.camera.geometry import (
    gl_from_cv,
    matrix_from_nuke_zxy,
    matrix_to_quat,
    quat_to_matrix,
)
from ingest_service.camera.solution import (
    CameraFrame,
    CameraSolution,
    FrameStatus,
    Intrinsics,
    SolveKind,
)


@pytest.fixture
def solution() -> CameraSolution:
    frames = []
    for i in range(10):
        c2w = np.eye(4)
        # An orbit that pans right through ±180° (the unwrap case) while dollying.
        c2w[:3, :3] = matrix_from_nuke_zxy(-5, 150 + 6 * i, 0) @ np.diag([1, -1, -1])
        c2w[:3, 3] = [0.3 * i, 1.5, 4 - 0.2 * i]
        status = FrameStatus.INTERPOLATED if i == 4 else FrameStatus.REGISTERED
        frames.append(CameraFrame.of(1001 + i, f"frame.{1001 + i:04d}.png", status, c2w))
    intrinsics = Intrinsics(model="SIMPLE_RADIAL", params=[800, 480, 270, 0.01],
                            fx=800, fy=800, cx=480, cy=270)  # fmt: skip
    return CameraSolution(width=960, height=540, intrinsics=intrinsics, kind=SolveKind.FULL,
                          frames=frames, reprojection_error_px=0.4, points=3, fps=24.0)  # fmt: skip


def test_camera_json_round_trips(solution: CameraSolution) -> None:
    again = CameraSolution.model_validate_json(solution.model_dump_json())
    assert again == solution
    assert (again.registered, again.interpolated) == (9, 1)
    for f in again.frames:
        assert np.allclose(np.array(f.camera_from_world) @ f.c2w, np.eye(4))


def test_transforms_json_is_opengl_camera_to_world(solution: CameraSolution) -> None:
    doc = json.loads(transforms_json(solution))
    assert (doc["fl_x"], doc["cx"], doc["w"], doc["h"]) == (800, 480, 960, 540)
    assert doc["camera_model"] == "OPENCV"
    assert doc["k1"] == 0.01
    first = doc["frames"][0]
    assert first["file_path"] == "../frames/frame.1001.png"
    assert np.allclose(first["transform_matrix"], gl_from_cv(solution.frames[0].c2w))
    assert doc["frames"][4]["interpolated"] is True


def test_chan_round_trips_to_the_same_cameras(solution: CameraSolution) -> None:
    rows = read_chan(nuke_chan(solution))
    assert [int(r[0]) for r in rows] == [f.frame for f in solution.frames]
    for row, frame in zip(rows, solution.frames, strict=True):
        gl = gl_from_cv(frame.c2w)
        assert np.allclose(row[1:4], gl[:3, 3])
        assert np.allclose(matrix_from_nuke_zxy(*row[4:7]), gl[:3, :3], atol=1e-7)
        assert row[7] == pytest.approx(np.degrees(2 * np.arctan(270 / 800)))
    ry = [r[5] for r in rows]
    assert max(abs(b - a) for a, b in itertools.pairwise(ry)) < 10  # unwrapped


def test_usd_camera_round_trips(solution: CameraSolution) -> None:
    data = camera_usda(solution, sensor_width_mm=36.0)
    assert b'upAxis = "Y"' in data and b"metersPerUnit = 0.01" in data
    frames, focal, aperture = read_usda_camera(data)
    assert sorted(frames) == [f.frame for f in solution.frames]
    for f in solution.frames:
        assert np.allclose(frames[f.frame], gl_from_cv(f.c2w))
    assert focal == pytest.approx(800 * 36 / 960)
    assert aperture == pytest.approx(36)


def test_csv_rows(solution: CameraSolution) -> None:
    lines = camera_csv(solution).decode().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    assert header[:4] == ["frame", "image", "status", "tx"]
    q = np.array([float(v) for v in first[6:10]])
    assert np.allclose(quat_to_matrix(q), solution.frames[0].c2w[:3, :3])
    assert len(lines) == 11


def test_ply_round_trips() -> None:
    xyz = np.array([[0, 1, 2], [3.5, -1, 0.25]])
    rgb = np.array([[255, 0, 10], [1, 2, 3]], dtype=np.uint8)
    back_xyz, back_rgb = read_points_ply(points_ply(xyz, rgb))
    assert np.allclose(back_xyz, xyz)
    assert np.array_equal(back_rgb, rgb)


def test_colmap_text_model_reads_in_pycolmap(solution: CameraSolution, tmp_path: object) -> None:
    xyz = np.array([[0.0, 0, 5], [1, 1, 6], [-1, 0.5, 7]])
    rgb = np.array([[10, 20, 30]] * 3, dtype=np.uint8)
    folder = f"{tmp_path}/sparse"
    import os

    os.makedirs(folder)
    for name, data in colmap_text(solution, xyz, rgb).items():
        with open(f"{folder}/{name}", "wb") as fh:
            fh.write(data)
    model = pycolmap.Reconstruction(folder)
    assert model.num_images() == 9  # the interpolated frame is not a COLMAP image
    assert model.num_points3D() == 3
    camera = next(iter(model.cameras.values()))
    assert camera.model.name == "SIMPLE_RADIAL"
    image = next(i for i in model.images.values() if i.name == "frame.1001.png")
    w2c = np.array(solution.frames[0].camera_from_world)
    assert np.allclose(image.cam_from_world().matrix(), w2c[:3, :], atol=1e-9)
    assert np.allclose(
        matrix_to_quat(w2c[:3, :3]), matrix_to_quat(image.cam_from_world().rotation.matrix())
    )


def test_opencv_model_distortion_terms_land_in_the_right_keys(solution: CameraSolution) -> None:
    params = [800, 790, 480, 270, 0.1, -0.02, 0.001, 0.002]
    solution.intrinsics = Intrinsics(model="OPENCV", params=params, fx=800, fy=790, cx=480, cy=270)
    doc = json.loads(transforms_json(solution))
    assert (doc["fl_y"], doc["k1"], doc["k2"], doc["p1"], doc["p2"]) == (
        790,
        0.1,
        -0.02,
        0.001,
        0.002,
    )
