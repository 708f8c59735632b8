"""Depth through a distorting lens: measured on undistorted frames, published in that
geometry, and said so in the stage's parameters."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.camera.lens import Lens
from ingest_service.camera.solution import CameraSolution
from ingest_service.depth.writers import read_depth_exr
from ingest_service.jobs.results import DepthResult, OutputFile
from ingest_service.jobs.states import StageStatus
from ingest_service.samples.scene import Scene, render_plate
from ingest_service.stages import depth as depth_stage
from ingest_service.stages.base import StageOutput
from tests.jobs import run_plate
from tests.lens_plates import PREFIX, F, H, LensPlate, W, depth_files, lens_job

BARREL = Lens(F, F, W / 2, H / 2, k1=-0.3, k2=0.08)  # 24 px at the corners
PINCUSHION = Lens(F, F, W / 2, H / 2, k1=0.12)


def _files(output: StageOutput, role: str) -> list[OutputFile]:
    assert isinstance(output.result, DepthResult)
    return depth_files(output.result.files, role)


def _absrel_delta(
    plate: LensPlate, output: StageOutput, truths: list[np.ndarray]
) -> tuple[float, float]:
    files = _files(output, "depth")
    scores = []
    for i in (4, 12, 20):
        depth = read_depth_exr(plate.ctx.store.get(files[i].key).data, plate.ctx.scratch)
        truth = truths[i]
        assert depth.shape == truth.shape == (H, W)
        ok = np.isfinite(truth) & (depth > 0)
        # The true cameras are the solve here: depth is in the scene's own units.
        ratio = depth[ok] / truth[ok]
        scores.append(
            (float(np.mean(np.abs(ratio - 1))), float(np.mean(np.maximum(ratio, 1 / ratio) < 1.25)))
        )
    absrel, delta = np.mean(scores, axis=0)
    return float(absrel), float(delta)


@pytest.mark.slow
def test_depth_through_a_distorted_lens_matches_the_pinhole_truth(tmp_path: Path) -> None:
    plate = lens_job(tmp_path / "known", BARREL)
    output = depth_stage.run(plate.ctx)
    assert output.parameters["geometry"] == "undistorted"
    assert output.parameters["redistort_stmap"] == f"{PREFIX}camera/stmap_redistort.exr"
    absrel, delta = _absrel_delta(plate, output, plate.depth)
    assert absrel < 0.05 and delta > 0.93, (absrel, delta)
    # The same plate with camera.json blind to the lens: depth (in the plate's geometry,
    # then) is measurably worse.
    blind = lens_job(tmp_path / "blind", BARREL, claimed=Lens(F, F, W / 2, H / 2))
    blind_output = depth_stage.run(blind.ctx)
    assert blind_output.parameters["geometry"] == "plate"
    blind_absrel, _ = _absrel_delta(blind, blind_output, blind.plate_depth)
    assert blind_absrel > 2 * absrel, (blind_absrel, absrel)


@pytest.mark.slow
def test_pixels_the_plate_does_not_cover_have_no_confidence(tmp_path: Path) -> None:
    plate = lens_job(tmp_path, PINCUSHION, frames=8)
    output = depth_stage.run(plate.ctx)
    confidence = _files(output, "confidence")
    data = plate.ctx.store.get(confidence[4].key).data
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (H, W)
    assert image[0, 0] == 0 and image[H // 2, 0] == 0  # pincushion: bare edges
    assert image[H // 4 : 3 * H // 4, W // 4 : 3 * W // 4].mean() > 100


@pytest.mark.slow
def test_a_distorted_plate_through_the_whole_chain(tmp_path: Path) -> None:
    """Rendered through a barrel lens and encoded: the solve finds the lens, the camera
    publishes its ST-maps, depth is measured undistorted and is as good as a pinhole's."""
    plate = tmp_path / "dolly.mp4"
    cams = render_plate(plate, "dolly", frames=24, width=W, height=H, f=F, k1=-0.2, k2=0.05)
    services, record = run_plate(tmp_path, plate, ["probe", "frames", "camera", "depth"])
    run = record.stages["depth"]
    assert run.status is StageStatus.DONE, run.error
    prefix = record.output_prefix
    solution = CameraSolution.model_validate_json(
        services.store.get(f"{prefix}camera/camera.json").data
    )
    assert solution.intrinsics.k1 == pytest.approx(-0.2, abs=0.06)
    assert run.parameters["geometry"] == "undistorted"
    assert run.parameters["redistort_stmap"] == f"{prefix}camera/stmap_redistort.exr"
    assert services.store.get(f"{prefix}camera/stmap_undistort.exr").data
    scene, scores = Scene(), []
    for i in (4, 12, 20):
        depth = read_depth_exr(
            services.store.get(f"{prefix}depth/depth.{i + 1:04d}.exr").data, tmp_path
        )
        truth = scene.render(cams[i], F, W, H).depth
        ratio = depth / truth
        ratio /= np.median(ratio)  # the solve's scale is its own
        scores.append(float(np.mean(np.abs(ratio - 1))))
    assert np.mean(scores) < 0.06, scores
