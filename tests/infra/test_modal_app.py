"""The Modal app, offline: what it defines, and a whole job through its functions' code."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.record import JobRecord
from ingest_service.run.intake import claim_plate
from ingest_service.samples.plate import make_plate
from ingest_service.services import Services
from ingest_service.settings import load_settings
from storage import S3Store
from tests.plates import Plates


@pytest.fixture(scope="module")
def modal_app():  # type: ignore[no-untyped-def]
    import infra.modal_app as module

    return module


def _functions(module) -> dict:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # registered_functions is deprecated in modal 1.6
        return dict(module.app.registered_functions)


def _volumes(spec) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {path: repr(volume) for path, volume in spec.volumes.items()}


SERVICE_SECRETS = {
    "modal.Secret.from_name('ingest-s3')",
    "modal.Secret.from_name('ingest-webhook')",
}


def test_app_defines_the_functions_with_their_resources(modal_app) -> None:  # type: ignore[no-untyped-def]
    functions = _functions(modal_app)
    assert set(functions) == {
        "web",
        "poll",
        "run_job",
        "media_stage",
        "camera_stage",
        "download_models",
        "DepthWorker.*",
        "MaskWorker.*",
    }
    camera = functions["camera_stage"]._spec_
    assert (camera.cpu, camera.memory) == (4.0, 8192)
    media = functions["media_stage"]._spec_
    assert (media.cpu, media.memory) == (4.0, 8192)
    for name, function in functions.items():
        secrets = {repr(s) for s in function._spec_.secrets}
        if name == "download_models":
            assert secrets == {"modal.Secret.from_name('ingest-hf')"}
        else:
            assert secrets == SERVICE_SECRETS, name


def test_gpu_workers_load_weights_from_the_volume_on_a_fallback_list_of_gpus(modal_app) -> None:  # type: ignore[no-untyped-def]
    functions = _functions(modal_app)
    for name in ("DepthWorker.*", "MaskWorker.*"):
        spec = functions[name]._spec_
        assert spec.gpus == ["H100", "A100-80GB", "L40S"], name
        assert _volumes(spec) == {"/models": "modal.Volume.from_name('ingest-models')"}
    assert _volumes(functions["download_models"]._spec_) == _volumes(spec)
    # Weights are loaded once per container, in @modal.enter, not per call.
    from modal._partial_function import _find_partial_methods_for_user_cls, _PartialFunctionFlags

    for cls, method in ((modal_app.DepthWorker, "predict"), (modal_app.MaskWorker, "track")):
        entered = _find_partial_methods_for_user_cls(
            cls._get_user_cls(), _PartialFunctionFlags.ENTER_POST_SNAPSHOT
        )
        assert list(entered) == ["load"]
        assert list(cls._get_method_names()) == [method]


def test_web_and_poller_wiring(modal_app) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        web_endpoints = modal_app.app.registered_web_endpoints
    assert list(web_endpoints) == ["web"]
    assert modal_app.POLL_SCHEDULE == "*/5 * * * *"


@pytest.fixture
def s3_env(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Store:
    monkeypatch.setenv("INGEST_STORE", f"s3://{s3_store.bucket}")
    monkeypatch.setenv("INGEST_STAGES", "probe,frames")
    monkeypatch.setenv("INGEST_NOTIFY_LOG", str(tmp_path / "notifications.jsonl"))
    monkeypatch.setenv("INGEST_WORKERS", "2")
    return s3_store


def _settings_env(monkeypatch: pytest.MonkeyPatch, **settings: object) -> None:
    """What a deployment puts in its secrets: INGEST_<NAME> for each setting."""
    for name, value in settings.items():
        monkeypatch.setenv(f"INGEST_{name.upper()}", str(value))


def _run_on_modal(modal_app, store: S3Store, plate: Path, key: str) -> JobRecord:  # type: ignore[no-untyped-def]
    """Claim a plate with the environment's settings and run its job through the app's
    functions: .local() runs their bodies here, against moto, with no Modal account."""
    services = Services.build(load_settings(), store=store)
    job_id = claim_plate(services, ref_for_local_file(store, plate, key=key)).record.job_id
    assert modal_app.run_job.local(job_id, "local") == "published"
    return services.ledger.get(job_id)


def test_a_whole_job_runs_through_the_orchestrator_and_stage_functions(
    modal_app,
    s3_env: S3Store,
    plates: Plates,  # type: ignore[no-untyped-def]
) -> None:
    record = _run_on_modal(modal_app, s3_env, plates.h264, "incoming/sh0040.mov")
    assert record.manifest_key == "published/sh0040/v001/manifest.json"
    assert s3_env.head("published/sh0040/v001/frames/frame.0048.png").size > 0


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*mounted Volume")
def test_sam3_masks_fan_out_over_gpu_workers_and_come_back_stitched(
    modal_app,  # type: ignore[no-untyped-def]
    s3_env: S3Store,
    models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _settings_env(
        monkeypatch,
        stages="probe,frames,masks",
        masks_backend="sam3",
        models_dir=models_dir,
        masks_chunk_frames=8,
        masks_chunk_overlap=2,
    )
    plate = make_plate(tmp_path / "plate.mov", seconds=0.5, width=96, height=64)  # 12 frames
    record = _run_on_modal(modal_app, s3_env, plate, "incoming/m.mov")
    run = record.stages["masks"]
    assert run.status.value == "done", run.error
    assert run.parameters["chunks"] == 2  # frames 0-7, then 6-11 (2 shared)
    assert s3_env.head(f"{record.output_prefix}masks/person/mask.0012.png").size > 0
    # The chunks' intermediate files are gone once the stage has published.
    assert list(s3_env.list(f".ingest/work/{record.job_id}/")) == []


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*mounted Volume")
def test_depth_chunks_fan_out_and_are_aligned_on_the_cpu_side(
    modal_app,  # type: ignore[no-untyped-def]
    s3_env: S3Store,
    models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Chunks of 10 frames go to DepthWorker.predict (run here with .local()), leave
    their predictions in the job's work prefix, and come back as fits; the stage then
    aligns and publishes. The model is replaced by the true inverse depth under a
    per-frame scale and shift, so the result can be checked."""
    from ingest_service.depth.writers import read_depth_exr
    from ingest_service.models.depth_anything import DepthAnything
    from ingest_service.samples.scene import Scene, render_plate

    width, height, focal = 320, 180, 250.0
    plate = tmp_path / "dolly.mp4"
    cams = render_plate(plate, "dolly", frames=24, width=width, height=height, f=focal)
    truth = [Scene().render_with_depth(c, focal, width, height)[1] for c in cams]

    def predict(self: DepthAnything, frames: list) -> np.ndarray:  # type: ignore[type-arg]
        # Frames are told apart by content: find each one's index among the truths.
        out = []
        for frame in frames:
            i = int(
                np.argmin([np.abs(frame[::8, ::8, 1].astype(float) - r).mean() for r in rendered])
            )
            out.append((2.0 + 0.1 * i) / truth[i] + 0.01 * i)
        return np.stack(out).astype(np.float32)

    rendered = [Scene().render(c, focal, width, height)[::8, ::8, 1].astype(float) for c in cams]
    monkeypatch.setattr(DepthAnything, "predict", predict)
    _settings_env(
        monkeypatch,
        stages="probe,frames,camera,depth",
        depth_backend="depth-anything",
        models_dir=models_dir,
        model_chunk_frames=10,
    )
    record = _run_on_modal(modal_app, s3_env, plate, "incoming/d.mp4")
    run = record.stages["depth"]
    assert run.status.value == "done", run.error
    assert run.parameters["chunk_frames"] == 10
    assert run.gpu_seconds is None  # it ran on this CPU: no GPU to bill
    depth = read_depth_exr(s3_env.get(f"{record.output_prefix}depth/depth.0015.exr").data, tmp_path)
    ratio = np.median(depth / truth[14])
    assert np.mean(np.abs(depth / ratio - truth[14]) / truth[14]) < 0.03
    assert list(s3_env.list(f".ingest/work/{record.job_id}/")) == []


def test_images_carry_the_dashboards_page_and_scripts(modal_app) -> None:  # type: ignore[no-untyped-def]
    for kept in ("dashboard/static/app.js", "dashboard/static/index.html", "app.py"):
        assert not modal_app.OUR_FILES(Path(kept)), kept
    assert modal_app.OUR_FILES(Path("README.md"))
