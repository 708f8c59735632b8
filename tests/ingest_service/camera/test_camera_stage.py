"""The camera stage on rendered plates with a known camera: accuracy, kinds, failure."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.camera.lens import Lens
from ingest_service.camera.rejected import load_rejected
from ingest_service.camera.solution import CameraSolution, FrameStatus, SolveKind
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.publish.manifest import Manifest
from ingest_service.samples.plate import make_plate
from ingest_service.samples.scene import Scene, render_plate
from ingest_service.services import Services
from tests.camera_eval import distortion_map_error_px, score
from tests.jobs import run_plate

W, H, F = 480, 270, 380.0


@functools.cache
def _plate(folder: str, kind: str, frames: int) -> tuple[Path, tuple[np.ndarray, ...]]:
    path = Path(folder) / f"{kind}.mp4"
    return path, tuple(render_plate(path, kind, frames=frames, width=W, height=H, f=F))


@pytest.fixture(scope="module")
def plate_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("synthetic"))


def _solve(tmp_path: Path, plate: Path, **settings: object) -> tuple[Services, JobRecord]:
    return run_plate(tmp_path, plate, ["probe", "frames", "camera"], **settings)


def _camera(services: Services, record: object) -> CameraSolution:
    prefix = record.output_prefix  # type: ignore[attr-defined]
    return CameraSolution.model_validate_json(
        services.store.get(f"{prefix}camera/camera.json").data
    )


def _solved(
    tmp_path: Path, plate: Path, **settings: object
) -> tuple[Services, JobRecord, CameraSolution]:
    """Run the camera stage on `plate`; the published camera.json with the job."""
    services, record = _solve(tmp_path, plate, **settings)
    return services, record, _camera(services, record)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dolly", "orbit", "handheld"])
def test_moving_camera_is_solved_accurately(tmp_path: Path, plate_dir: str, kind: str) -> None:
    plate, truth = _plate(plate_dir, kind, 24)
    services, record = _solve(tmp_path, plate)
    assert record.state is JobState.PUBLISHED  # type: ignore[attr-defined]
    solution = _camera(services, record)
    assert solution.kind is SolveKind.FULL
    assert len(solution.frames) == 24
    assert solution.registered == 24
    scores = score([f.c2w for f in solution.frames], list(truth))
    assert scores.rotation_error_deg < 0.2
    assert scores.centre_error_pct < 1.0
    assert solution.intrinsics.fx == pytest.approx(F, rel=0.03)
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)  # type: ignore[attr-defined]
    details = manifest.stages["camera"].details
    assert details["registered"] == 24 and details["solve"] == "full"
    assert {"tracking", "keyframes", "mapping", "adjustment"} <= set(details["timings_s"])
    names = {f.key.rsplit("camera/", 1)[-1] for f in manifest.files if f.role == "camera"}
    assert names == {
        "camera.json",
        "transforms.json",
        "camera.chan",
        "camera.usda",
        "camera.csv",
        "points.ply",
        "colmap/cameras.txt",
        "colmap/images.txt",
        "colmap/points3D.txt",
        "rejected_tracks.json",
    }


@pytest.mark.slow
def test_nodal_pan_gets_a_rotation_only_camera(tmp_path: Path, plate_dir: str) -> None:
    plate, truth = _plate(plate_dir, "pan", 24)
    services, record, solution = _solved(tmp_path, plate)
    assert solution.kind is SolveKind.ROTATION_ONLY
    centres = np.array([f.c2w[:3, 3] for f in solution.frames])
    assert np.allclose(centres, centres[0])  # one camera centre for all frames
    assert score([f.c2w for f in solution.frames], list(truth)).rotation_error_deg < 0.2
    assert solution.intrinsics.fx == pytest.approx(F, rel=0.03)
    assert solution.registered == 24


@pytest.mark.slow
def test_locked_off_shot_is_one_static_camera(tmp_path: Path, plate_dir: str) -> None:
    plate, _ = _plate(plate_dir, "static", 12)
    services, record, solution = _solved(tmp_path, plate)
    assert solution.kind is SolveKind.STATIC
    assert all(np.allclose(f.c2w, solution.frames[0].c2w) for f in solution.frames)
    assert record.stages["camera"].result.focal_source == "assumed"  # type: ignore[attr-defined]


def test_untextured_plate_fails_the_camera_stage_but_publishes_the_frames(tmp_path: Path) -> None:
    plate = make_plate(
        tmp_path / "grey.mov", seconds=0.5, width=160, height=90, pattern="color=c=gray"
    )
    services, record = _solve(tmp_path, plate)
    assert record.state is JobState.PUBLISHED  # type: ignore[attr-defined]
    camera = record.stages["camera"]  # type: ignore[attr-defined]
    assert camera.status is StageStatus.FAILED
    assert "no features could be matched" in camera.error.message
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)  # type: ignore[attr-defined]
    assert manifest.stages["camera"].status is StageStatus.FAILED
    assert manifest.sequences[0].count == 12


def test_interpolated_frames_are_flagged() -> None:
    from ingest_service.camera.interpolate import fill_missing

    a, b = np.eye(4), np.eye(4)
    b[:3, 3] = [2, 0, 0]
    filled = fill_missing({1: a, 3: b}, 5)
    assert np.allclose(filled[2][:3, 3], [1, 0, 0])
    assert np.allclose(filled[0], a) and np.allclose(filled[4], b)
    assert FrameStatus.INTERPOLATED == "interpolated"


@pytest.mark.slow
def test_long_plates_map_keyframes_and_register_the_rest(tmp_path: Path, plate_dir: str) -> None:
    plate, truth = _plate(plate_dir, "handheld", 24)
    services, record, solution = _solved(tmp_path, plate, camera_max_keyframes=8)
    assert solution.registered == 24  # 8 mapped, 16 registered against them
    assert record.stages["camera"].parameters["max_keyframes"] == 8  # type: ignore[attr-defined]
    scores = score([f.c2w for f in solution.frames], list(truth))
    assert scores.rotation_error_deg < 0.2
    assert scores.centre_error_pct < 1.0


@pytest.mark.slow
def test_a_pan_that_travels_a_little_gets_the_right_focal_length_and_rotations(
    tmp_path: Path,
) -> None:
    plate = tmp_path / "pan_travel.mp4"
    truth = render_plate(plate, "pan_travel", frames=48, width=W, height=H, f=F, travel=0.5)
    services, record, solution = _solved(tmp_path, plate)
    assert solution.kind is SolveKind.SMALL_TRANSLATION
    assert solution.registered == 48
    assert solution.intrinsics.fx == pytest.approx(F, rel=0.03)
    assert score([f.c2w for f in solution.frames], truth).rotation_error_deg < 0.5
    assert solution.evidence is not None and solution.evidence.focal_source == "rotation"


@pytest.mark.slow
def test_a_wide_lens_publishes_its_distortion_and_st_maps(tmp_path: Path) -> None:
    plate = tmp_path / "wide.mp4"
    f, k1, k2 = 0.68 * W, -0.15, 0.03
    truth = render_plate(plate, "handheld", frames=24, width=W, height=H, f=f, k1=k1, k2=k2)
    services, record, solution = _solved(tmp_path, plate)
    assert solution.kind is SolveKind.FULL and solution.registered == 24
    lens = solution.intrinsics.lens
    true_lens = Lens(f, f, W / 2, H / 2, k1, k2)
    assert distortion_map_error_px(true_lens, lens, W, H) < 0.5
    assert lens.fx == pytest.approx(f, rel=0.01)
    assert score([c.c2w for c in solution.frames], truth).rotation_error_deg < 0.1
    transforms = json.loads(
        services.store.get(f"{record.output_prefix}camera/transforms.json").data
    )
    assert transforms["camera_model"] == "OPENCV"
    assert transforms["k1"] == pytest.approx(lens.k1) and transforms["k2"] == pytest.approx(lens.k2)
    keys = {f.key.rsplit("camera/", 1)[-1] for f in record.stages["camera"].result.files}  # type: ignore[union-attr]
    assert {"stmap_undistort.exr", "stmap_redistort.exr"} <= keys


@pytest.mark.slow
def test_tracks_on_a_box_moving_on_its_own_are_published_where_it_was(tmp_path: Path) -> None:
    plate = tmp_path / "mover.mp4"
    truth = render_plate(plate, "dolly", frames=24, width=W, height=H, f=F, mover=True)
    services, record, solution = _solved(tmp_path, plate)
    assert solution.kind is SolveKind.FULL
    rejected = load_rejected(services.store, record.stages["camera"].result)  # type: ignore[arg-type]
    assert rejected is not None
    assert [f.frame for f in rejected.frames] == [f.frame for f in solution.frames]
    scene = Scene(mover=True, frames=24)
    on_box, total = 0, 0
    for i, c2w in enumerate(truth):
        # A track on the box's edge sees the box and what is behind it: a few pixels' grace.
        box = cv2.dilate(scene.render(c2w, F, W, H, i).moving.astype(np.uint8), np.ones((7, 7)))
        xy = np.floor(rejected.moving_xy(i)).astype(int)
        on_box += int(box[xy[:, 1], xy[:, 0]].sum())
        total += len(xy)
    # The box covers about 15 % of the frame; most of what the solve rejected is on it.
    assert total >= 5 * len(truth)
    assert on_box / total > 0.6


@pytest.mark.slow
def test_the_same_plate_gives_the_same_camera_twice(tmp_path: Path, plate_dir: str) -> None:
    plate, _ = _plate(plate_dir, "handheld", 24)
    first = _camera(*_solve(tmp_path / "one", plate))
    second = _camera(*_solve(tmp_path / "two", plate))
    a = np.array([f.world_from_camera for f in first.frames])
    b = np.array([f.world_from_camera for f in second.frames])
    assert np.allclose(a, b, rtol=1e-6, atol=1e-9)
    assert first.intrinsics.fx == pytest.approx(second.intrinsics.fx, rel=1e-6)
    assert first.review == second.review


@pytest.mark.slow
def test_every_solve_carries_a_verdict_and_its_evidence(tmp_path: Path, plate_dir: str) -> None:
    plate, _ = _plate(plate_dir, "orbit", 24)
    services, record, solution = _solved(tmp_path, plate)
    assert solution.review == "ok", solution.review
    evidence = solution.evidence
    assert evidence is not None and evidence.frontend == "tracks"
    assert evidence.parallax_deg is not None and evidence.parallax_deg > 1.0
    assert evidence.focal_range_px is not None
    low, high = evidence.focal_range_px
    assert low < solution.intrinsics.fx < high and (high - low) < 0.25 * solution.intrinsics.fx
    assert evidence.reprojection_error_px is not None
    assert evidence.reprojection_error_px["p90"] < 1.5
    assert evidence.interpolated_frames == 0
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)  # type: ignore[attr-defined]
    assert manifest.stages["camera"].details["review"] == "ok"
    assert manifest.stages["camera"].details["evidence"]["frontend"] == "tracks"
