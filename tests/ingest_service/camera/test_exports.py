"""Each export written, read back and compared on a known camera path."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pycolmap
import pytest
from pxr import Usd, UsdGeom
from pydantic import ValidationError

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
from ingest_service.camera.lens import Lens
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
    intrinsics = Intrinsics(
        model="SIMPLE_RADIAL", params=[800, 480, 270, 0.01], fx=800, fy=800, cx=480, cy=270
    )
    return CameraSolution(
        width=960,
        height=540,
        intrinsics=intrinsics,
        kind=SolveKind.FULL,
        frames=frames,
        reprojection_error_px=0.4,
        points=3,
        fps=24.0,
    )


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
    lens = dict(zip(header[-8:], map(float, first[-8:]), strict=True))
    k = solution.intrinsics
    assert lens == {
        "fx": k.fx,
        "fy": k.fy,
        "cx": k.cx,
        "cy": k.cy,
        "k1": k.k1,
        "k2": 0,
        "p1": 0,
        "p2": 0,
    }


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


def test_a_camera_json_from_before_k1_was_spelled_out_still_loads(
    solution: CameraSolution,
) -> None:
    doc = json.loads(solution.model_dump_json())
    for term in ("k1", "k2", "p1", "p2"):
        del doc["intrinsics"][term]
    old = CameraSolution.model_validate(doc)
    assert old.intrinsics.k1 == 0.01  # read from the SIMPLE_RADIAL params
    assert old.intrinsics.lens == Lens(800, 800, 480, 270, k1=0.01)


def test_intrinsics_from_a_lens_hold_it_in_the_smallest_colmap_model() -> None:
    radial = Intrinsics.from_lens(Lens(800, 800, 480, 270, k1=-0.1, k2=0.02))
    assert (radial.model, radial.params) == ("RADIAL", [800, 480, 270, -0.1, 0.02])
    assert (radial.k1, radial.k2, radial.p1, radial.p2) == (-0.1, 0.02, 0.0, 0.0)
    full = Lens(800, 790, 481, 269, k1=-0.1, k2=0.02, p1=0.001, p2=-0.002)
    assert Intrinsics.from_lens(full).model == "OPENCV"
    assert Intrinsics.from_lens(full).lens == full
    assert Intrinsics.from_lens(Lens(800, 800, 480, 270)).model == "SIMPLE_PINHOLE"


def test_intrinsics_refuse_terms_that_contradict_the_params() -> None:
    with pytest.raises(ValidationError, match="k1 disagrees"):
        Intrinsics(
            model="SIMPLE_RADIAL",
            params=[800, 480, 270, 0.01],
            fx=800,
            fy=800,
            cx=480,
            cy=270,
            k1=0.02,
        )


def test_transforms_json_carries_all_four_terms_when_distorted(solution: CameraSolution) -> None:
    doc = json.loads(transforms_json(solution))  # SIMPLE_RADIAL: k1 only in the solve
    assert doc["camera_model"] == "OPENCV"
    assert (doc["k1"], doc["k2"], doc["p1"], doc["p2"]) == (0.01, 0.0, 0.0, 0.0)
    solution.intrinsics = Intrinsics.from_lens(Lens(800, 800, 480, 270))
    doc = json.loads(transforms_json(solution))
    assert doc["camera_model"] == "PINHOLE"
    assert not {"k1", "k2", "p1", "p2"} & set(doc)


@pytest.mark.parametrize(
    "lens",
    [
        Lens(800, 800, 480, 270, k1=-0.1, k2=0.02),
        Lens(800, 790, 481, 269, k1=-0.1, k2=0.02, p1=0.001, p2=-0.002),
    ],
    ids=["RADIAL", "OPENCV"],
)
def test_colmap_cameras_hold_the_lens(solution: CameraSolution, tmp_path: Path, lens: Lens) -> None:
    solution.intrinsics = Intrinsics.from_lens(lens)
    xyz = np.array([[0.0, 0, 5], [1, 1, 6], [-1, 0.5, 7]])
    rgb = np.array([[10, 20, 30]] * 3, dtype=np.uint8)
    for name, data in colmap_text(solution, xyz, rgb).items():
        (tmp_path / name).write_bytes(data)
    camera = next(iter(pycolmap.Reconstruction(str(tmp_path)).cameras.values()))
    assert camera.model.name == solution.intrinsics.model
    assert Lens.from_colmap(camera.model.name, list(camera.params)) == lens


def test_usd_camera_carries_the_lens_and_names_the_st_maps(
    solution: CameraSolution, tmp_path: Path
) -> None:
    lens = Lens(800, 790, 481, 269, k1=-0.1, k2=0.02, p1=0.001, p2=-0.002)
    solution.intrinsics = Intrinsics.from_lens(lens)
    path = tmp_path / "camera.usda"
    path.write_bytes(camera_usda(solution))
    (tmp_path / "stmap_undistort.exr").write_bytes(b"")  # published beside camera.usda
    stage = Usd.Stage.Open(str(path))
    prim = stage.GetPrimAtPath("/solve/camera")
    assert UsdGeom.Camera(prim)
    values = {
        name: prim.GetAttribute(f"ingest:lens:{name}").Get() for name in ("k1", "k2", "p1", "p2")
    }
    assert values == {"k1": -0.1, "k2": 0.02, "p1": 0.001, "p2": -0.002}
    assert prim.GetAttribute("ingest:lens:model").Get() == "OPENCV"
    assert list(prim.GetAttribute("ingest:lens:params").Get()) == solution.intrinsics.params
    assert tuple(prim.GetAttribute("ingest:lens:resolution").Get()) == (960, 540)
    undistort = prim.GetAttribute("ingest:lens:stmapUndistort").Get()
    assert Path(undistort.resolvedPath) == tmp_path / "stmap_undistort.exr"
    assert prim.GetAttribute("ingest:lens:stmapRedistort").Get().path == "./stmap_redistort.exr"
    frames, _, _ = read_usda_camera(path.read_bytes())  # the camera itself is unchanged
    assert sorted(frames) == [f.frame for f in solution.frames]


def test_usd_camera_without_distortion_names_no_st_maps(solution: CameraSolution) -> None:
    solution.intrinsics = Intrinsics.from_lens(Lens(800, 800, 480, 270))
    data = camera_usda(solution)
    assert b"ingest:lens:k1 = 0" in data
    assert b"stmap" not in data
