"""Classical depth on rendered plates with true depth: accuracy, files, failure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest_service.camera.solution import CameraSolution
from ingest_service.depth.plane_sweep import View, plane_sweep
from ingest_service.depth.writers import read_depth_exr
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.publish.manifest import Manifest
from ingest_service.samples.scene import Scene, motion, render_plate
from tests.jobs import run_plate

W, H, F = 320, 180, 250.0


def _absrel_delta(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(truth) & (estimate > 0)
    ratio = estimate[ok] / truth[ok]
    aligned = estimate[ok] / np.median(ratio)  # the solve's scale is arbitrary: align it
    absrel = float(np.mean(np.abs(aligned - truth[ok]) / truth[ok]))
    delta = float(np.mean(np.maximum(aligned / truth[ok], truth[ok] / aligned) < 1.25))
    return absrel, delta


def test_plane_sweep_on_true_cameras() -> None:
    scene, cams = Scene(), motion("dolly", 24)
    k = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1.0]])
    views, depths = [], []
    for i in (8, 10, 12):
        image, z, _ = scene.render(cams[i], F, W, H)
        views.append(View(image.mean(axis=2).astype(np.float32) / 255, k, cams[i]))
        depths.append(z)
    depth, confidence = plane_sweep(views[1], [views[0], views[2]], near=1.0, far=20.0)
    absrel, delta = _absrel_delta(depth, depths[1])
    assert absrel < 0.05
    assert delta > 0.95
    assert confidence.min() >= 0 and confidence.max() <= 1


@pytest.mark.slow
def test_depth_stage_publishes_z_depth_consistent_with_the_camera(tmp_path: Path) -> None:
    plate = tmp_path / "dolly.mp4"
    cams = render_plate(plate, "dolly", frames=24, width=W, height=H, f=F)
    services, record = run_plate(tmp_path, plate, ["probe", "frames", "camera", "depth"])
    assert record.state is JobState.PUBLISHED
    assert record.stages["depth"].status is StageStatus.DONE, record.stages["depth"].error
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)  # type: ignore[arg-type]
    names = [s.name for s in manifest.sequences]
    assert names == ["frames", "depth", "preview", "confidence"]
    details = manifest.stages["depth"].details
    assert details["depth_kind"] == "z-depth"
    assert details["near"] < details["far"]
    scene = Scene()
    prefix = record.output_prefix
    scores = []
    for i in (4, 12, 20):
        data = services.store.get(f"{prefix}depth/depth.{i + 1:04d}.exr").data
        depth = read_depth_exr(data, tmp_path)
        assert depth.shape == (H, W)
        scores.append(_absrel_delta(depth, scene.render(cams[i], F, W, H).depth))
    assert np.mean([s[0] for s in scores]) < 0.1
    assert np.mean([s[1] for s in scores]) > 0.85
    # Depth is in the camera's units: the same scale as the published camera path.
    solution = CameraSolution.model_validate_json(
        services.store.get(f"{prefix}camera/camera.json").data
    )
    assert len(solution.frames) == 24


@pytest.mark.slow
def test_no_parallax_means_no_depth_and_says_why(tmp_path: Path) -> None:
    plate = tmp_path / "pan.mp4"
    render_plate(plate, "pan", frames=16, width=W, height=H, f=F)
    services, record = run_plate(tmp_path, plate, ["probe", "frames", "camera", "depth"])
    assert record.state is JobState.PUBLISHED
    depth = record.stages["depth"]
    assert depth.status is StageStatus.FAILED
    assert depth.error is not None
    assert "rotation_only" in depth.error.message
