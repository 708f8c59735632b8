"""Real loading and inference code on tiny random models of the real architectures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest_service.errors import ModelUnavailableError
from ingest_service.models.catalogue import CATALOGUE, download, weights_dir
from ingest_service.models.depth_anything import DepthAnything, Preprocess
from ingest_service.models.runtime import Normalise, forget_loaded, pick_runtime
from ingest_service.models.sam3_video import Sam3Video
from tests.tiny_models import DEPTH_INPUT


def test_cpu_runs_in_float32_and_a_missing_gpu_is_an_error() -> None:
    runtime = pick_runtime("cpu")
    assert (runtime.device, runtime.dtype_name, runtime.device_name) == ("cpu", "float32", "cpu")
    with pytest.raises(ModelUnavailableError, match="no CUDA device"):
        pick_runtime("cuda")


def test_missing_weights_say_where_they_were_looked_for_and_how_to_get_them(
    tmp_path: Path,
) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        weights_dir(tmp_path, "depth-anything-v2-small")
    message = str(info.value)
    assert str(tmp_path / "depth-anything-v2-small" / "config.json") in message
    assert "ingest-service models download depth-anything-v2-small" in message
    with pytest.raises(ModelUnavailableError, match="unknown model"):
        download("not-a-model", tmp_path)


def test_catalogue_names_the_hf_checkpoints() -> None:
    assert CATALOGUE["depth-anything-v2-large"].repo_id.endswith("Depth-Anything-V2-Large-hf")
    assert CATALOGUE["sam3"].gated


def test_input_size_keeps_the_aspect_and_the_patch_multiple() -> None:
    assert Preprocess().input_size(1080, 1920) == (518, 924)
    assert Preprocess().input_size(1920, 1080) == (924, 518)
    assert Preprocess(size=70).input_size(180, 320) == (70, 126)


def test_a_snapshots_own_preprocessing_overrides_the_defaults(tmp_path: Path) -> None:
    assert Normalise().of_snapshot(tmp_path) == Normalise()  # no preprocessor_config.json
    assert Preprocess.read(tmp_path) == Preprocess()
    config = {
        "size": {"height": 392, "width": 392},
        "ensure_multiple_of": 16,
        "image_mean": [0.5, 0.4, 0.3],
        "image_std": [0.2, 0.2, 0.2],
    }
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    told = Normalise((0.5, 0.4, 0.3), (0.2, 0.2, 0.2))
    assert Normalise().of_snapshot(tmp_path) == told
    assert Preprocess.read(tmp_path) == Preprocess(size=392, multiple=16, normalise=told)


def test_depth_model_loads_once_and_predicts_a_batch(models_dir: Path) -> None:
    forget_loaded()
    runtime = pick_runtime("cpu")
    folder = weights_dir(models_dir, "depth-anything-v2-small")
    model = DepthAnything.load(folder, runtime)
    assert DepthAnything.load(folder, runtime) is model
    assert model.preprocess.size == DEPTH_INPUT
    frames = [np.random.default_rng(i).integers(0, 255, (90, 160, 3), np.uint8) for i in range(3)]
    out = model.predict(frames)
    assert out.shape == (3, *Preprocess(size=DEPTH_INPUT).input_size(90, 160))
    assert out.dtype == np.float32 and np.isfinite(out).all() and (out >= 0).all()
    # A batch gives what the frames give one by one.
    assert np.allclose(model.predict(frames[1:2])[0], out[1], rtol=1e-4, atol=1e-9)


def test_sam3_tracks_prompts_through_a_session(models_dir: Path) -> None:
    model = Sam3Video.load(weights_dir(models_dir, "sam3"), pick_runtime("cpu"))
    session = model.start(["person", "red car", "person"], 90, 160)
    assert sorted(session.session.prompts.values()) == ["person", "red car"]
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(3):
        found = session.track(rng.integers(0, 255, (90, 160, 3), np.uint8))
        for instance in found:
            assert instance.mask.shape == (90, 160) and instance.mask.dtype == bool
            assert instance.mask.any()
            assert instance.prompt in ("person", "red car")
        seen.append({x.object_id for x in found})
    # The tiny model's thresholds let noise through, so there is something to track,
    # and a session keeps its ids from frame to frame.
    assert seen[0] and seen[1] == seen[0]
