"""The Depth Anything backend through the depth stage: loading, alignment, outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest_service.depth.writers import read_depth_exr
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.models.depth_anything import DepthAnything
from ingest_service.publish.manifest import Manifest
from ingest_service.samples.scene import Scene, render_plate
from tests.jobs import run_plate

W, H, F = 320, 180, 250.0
STAGES = ["probe", "frames", "camera", "depth"]


@pytest.fixture(scope="module")
def dolly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    plate = tmp_path_factory.mktemp("plate") / "dolly.mp4"
    return plate, render_plate(plate, "dolly", frames=24, width=W, height=H, f=F)


@pytest.mark.slow
def test_a_prediction_that_cannot_be_aligned_fails_depth_only(
    tmp_path: Path, models_dir: Path, dolly: tuple[Path, list[np.ndarray]]
) -> None:
    """The tiny random model's output is noise: the solve's points disagree with it, so
    depth fails with the reason, and the frames and camera are still published."""
    _, record = run_plate(
        tmp_path,
        dolly[0],
        STAGES,
        models_dir=models_dir,
        depth_backend="depth-anything",
        model_batch_size=5,
    )
    assert record.state is JobState.PUBLISHED
    assert record.stages["camera"].status is StageStatus.DONE
    run = record.stages["depth"]
    assert run.status is StageStatus.FAILED
    assert run.error is not None
    assert "could not be aligned to the camera" in run.error.message


@pytest.mark.slow
def test_affine_distorted_truth_comes_back_metric_and_steady(
    tmp_path: Path,
    models_dir: Path,
    dolly: tuple[Path, list[np.ndarray]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model that gets the shape right but a different scale and shift every frame
    (what monocular models do): after alignment, depth matches the truth in the
    solve's units and the frame-to-frame scale jitter is gone."""
    plate, cams = dolly
    scene = Scene()
    truth = [scene.render(c, F, W, H).depth for c in cams]
    rng = np.random.default_rng(5)
    distort = [(rng.uniform(0.5, 2.0), rng.uniform(0.0, 0.05)) for _ in cams]
    calls = iter(range(len(cams)))

    def predict(self: DepthAnything, frames: list[np.ndarray]) -> np.ndarray:
        out = []
        for _ in frames:
            i = next(calls)
            a, b = distort[i]
            out.append((a / truth[i] + b).astype(np.float32))
        return np.stack(out)

    monkeypatch.setattr(DepthAnything, "predict", predict)
    services, record = run_plate(
        tmp_path,
        plate,
        STAGES,
        models_dir=models_dir,
        depth_backend="depth-anything",
        depth_keep_raw=True,
        model_batch_size=5,
    )
    run = record.stages["depth"]
    assert run.status is StageStatus.DONE, run.error
    assert run.backend == "depth-anything-v2 (depth-anything-v2-small, float32)"
    assert run.parameters["input_size"] == [70, 126]  # the tiny model's 70-pixel short side
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)  # type: ignore[arg-type]
    assert [s.name for s in manifest.sequences][1:] == ["depth", "preview", "confidence", "raw"]
    alignment = manifest.stages["depth"].details["alignment"]
    assert alignment["frames_fitted"] == 24 and alignment["median_points"] > 50
    raw = read_depth_exr(
        services.store.get(f"{record.output_prefix}depth/raw.0007.exr").data, tmp_path
    )
    a, b = distort[6]
    assert np.allclose(raw, a / truth[6] + b, rtol=1e-3)  # the model's own output, unaligned
    ratios, absrels = [], []
    for i in range(24):
        key = f"{record.output_prefix}depth/depth.{i + 1:04d}.exr"
        depth = read_depth_exr(services.store.get(key).data, tmp_path)
        ratio = np.median(depth / truth[i])  # the solve's scale against the scene's
        ratios.append(ratio)
        absrels.append(np.mean(np.abs(depth / ratio - truth[i]) / truth[i]))
    assert np.mean(absrels) < 0.03
    # One scale for the whole plate: the solve's, not the per-frame distortion.
    assert np.std(ratios) / np.mean(ratios) < 0.01
