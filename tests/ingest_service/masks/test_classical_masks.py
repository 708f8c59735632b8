"""Classical moving-object masks on rendered plates with a known moving box."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.masks.motion import STEP, MotionView, clean, gray, raw_motion, temporal
from ingest_service.publish.manifest import Manifest
from ingest_service.samples.scene import Scene, motion, render_plate
from tests.jobs import run_plate

W, H, F = 320, 180, 250.0
K = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1.0]])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_true_depth_and_cameras_explain_everything_but_the_mover() -> None:
    scene, cams = Scene(mover=True), motion("dolly", 16)
    views, truth = [], []
    for i, c2w in enumerate(cams):
        image, depth, moving = scene.render(c2w, F, W, H, i)
        views.append(MotionView(gray(image[..., ::-1]), depth.astype(np.float32), K, c2w))
        truth.append(moving)
    raws = [
        clean(raw_motion(v, [views[j] for j in (i - STEP, i + STEP) if 0 <= j < 16]))
        for i, v in enumerate(views)
    ]
    scores = [iou(temporal(raws[i - 1], raws[i], raws[i + 1]), truth[i]) for i in range(4, 12)]
    assert np.mean(scores) > 0.7, scores


def test_a_static_scene_has_no_moving_pixels() -> None:
    # 1.5 degrees of orbit per frame, as a real move at 24 fps might turn.
    scene, cams = Scene(), motion("orbit", 48)
    views = {}
    for i in (24 - STEP, 24, 24 + STEP):
        image, depth, _ = scene.render(cams[i], F, W, H, i)
        views[i] = MotionView(gray(image[..., ::-1]), depth.astype(np.float32), K, cams[i])
    mask = clean(raw_motion(views[24], [views[24 - STEP], views[24 + STEP]]))
    assert mask.mean() < 0.01


@pytest.mark.slow
def test_masks_stage_finds_the_moving_box_through_solve_and_depth(tmp_path: Path) -> None:
    plate = tmp_path / "mover.mp4"
    cams = render_plate(plate, "dolly", frames=24, width=W, height=H, f=F, mover=True)
    stages = ["probe", "frames", "camera", "depth", "masks"]
    services, record = run_plate(tmp_path, plate, stages, mask_prompts=["person"])
    assert record.state is JobState.PUBLISHED
    for name in ("camera", "depth", "masks"):
        assert record.stages[name].status is StageStatus.DONE, record.stages[name].error
    # The moving box must not pull the solve: its tracks are rejected as outliers
    # (with COLMAP's default 4 px tolerance, 4 solves in 10 found twice the focal length).
    camera = record.stages["camera"].result
    assert camera is not None
    assert camera.summary()["focal_length_px"] == pytest.approx(F, rel=0.05)
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)  # type: ignore[arg-type]
    details = manifest.stages["masks"].details
    # The solve's rejected tracks reached the masks as evidence of what moves.
    assert manifest.stages["masks"].parameters["rejected_tracks"] > 0
    assert details["prompts_honoured"] is False
    assert "'person'" in details["note"]
    masks = next(s for s in manifest.sequences if s.name == "moving")
    assert masks.hash_pattern == "mask.####.png"
    assert (masks.frame_range.first, masks.frame_range.last) == (1, 24)
    scene = Scene(mover=True)
    scores = []
    for i in range(3, 21):
        data = services.store.get(f"{record.output_prefix}masks/moving/mask.{i + 1:04d}.png").data
        mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        scores.append(iou(mask == 255, scene.render(cams[i], F, W, H, i).moving))
    assert np.mean(scores) > 0.6, [round(s, 2) for s in scores]


def test_pixels_the_plate_did_not_cover_are_never_motion() -> None:
    """Frames undistorted from a pincushion lens have a bare (black) edge: it must not
    read as motion, in the frame itself or where a neighbour's bare edge lands."""
    scene, cams = Scene(), motion("orbit", 48)
    seen = np.ones((H, W), bool)
    seen[:, :48] = False  # a bare band, clear of the residual window

    def view(i: int, covered: np.ndarray | None) -> MotionView:
        image, depth, _ = scene.render(cams[i], F, W, H, i)
        g = gray(image[..., ::-1])
        g[:, :40] = 0.0
        return MotionView(g, depth.astype(np.float32), K, cams[i], covered)

    def raw(covered: np.ndarray | None) -> np.ndarray:
        ref = view(24, covered)
        return raw_motion(ref, [view(24 - STEP, covered), view(24 + STEP, covered)])

    # What the bare band does unless it is known, in the raw map (clean() now drops the
    # strips it leaves as having no solid core).
    assert raw(None)[:, :48].mean() > 0.05
    assert not raw(seen)[:, :48].any()
    assert clean(raw(seen)).mean() < 0.01
