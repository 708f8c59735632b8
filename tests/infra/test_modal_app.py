"""The Modal app, offline: what it defines, and a whole job through its functions' code."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytest

from infra.cron import period_s
from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.record import JobRecord
from ingest_service.publish.manifest import Manifest
from ingest_service.run.intake import claim_plate
from ingest_service.samples.plate import make_plate
from ingest_service.services import Services
from ingest_service.settings import load_settings
from storage import S3Store
from tests.infra.declared import load_declared
from tests.plates import Plates


@pytest.fixture(scope="module")
def modal_app():  # type: ignore[no-untyped-def]
    import infra.modal_app as module

    return module


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    return load_declared(monkeypatch)[1]


def _volumes(options: dict[str, Any]) -> dict[str, str]:
    return {path: repr(volume) for path, volume in options.get("volumes", {}).items()}


SERVICE_SECRETS = {
    "modal.Secret.from_name('ingest-s3')",
    "modal.Secret.from_name('ingest-webhook')",
}


def test_app_declares_the_functions_with_their_resources(modal_app, declared) -> None:  # type: ignore[no-untyped-def]
    assert set(declared) == {
        "web",
        "poll",
        "run_job",
        "media_stage",
        "camera_stage",
        "download_models",
        "submit",
        "DepthWorker",
        "MaskWorker",
    }
    for name in ("media_stage", "camera_stage"):
        assert (declared[name]["cpu"], declared[name]["memory"]) == (4.0, 8192), name
    # Every function on the media image's OpenMP threads reserves as many CPUs.
    for name in ("media_stage", "camera_stage", "DepthWorker", "MaskWorker"):
        assert declared[name]["cpu"] == modal_app.STAGE_CPUS, name
    for name, options in declared.items():
        secrets = {repr(s) for s in options["secrets"]}
        # Gated weights only: nothing needs a Hugging Face secret to deploy.
        assert secrets == (set() if name == "download_models" else SERVICE_SECRETS), name


def test_the_hugging_face_secret_is_used_when_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_MODAL_HF_SECRET", "ingest-hf")
    declared = load_declared(monkeypatch)[1]
    secrets = [repr(s) for s in declared["download_models"]["secrets"]]
    assert secrets == ["modal.Secret.from_name('ingest-hf')"]


def test_no_function_is_retried_by_modal(declared) -> None:  # type: ignore[no-untyped-def]
    """The job's record decides what runs again: a stage that runs past its limit must
    not be run again by Modal (each retry starts a new timeout), unseen by the record."""
    assert {name for name, options in declared.items() if options.get("retries")} == set()


def test_poll_passes_never_overlap(declared) -> None:  # type: ignore[no-untyped-def]
    poll = declared["poll"]
    schedule = poll["schedule"].proto_message.cron.cron_string
    assert poll["max_containers"] == 1
    assert poll["timeout"] < period_s(schedule)


def test_poll_runs_with_its_schedules_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_MODAL_POLL_CRON", "0 * * * *")
    module, declared = load_declared(monkeypatch)
    assert module.POLL_PERIOD_S == 3600
    assert declared["poll"]["timeout"] < 3600


def test_the_dashboards_live_stream_is_not_cut_every_minute(declared) -> None:  # type: ignore[no-untyped-def]
    assert declared["web"]["timeout"] >= 3600


def test_gpu_workers_load_weights_from_the_volume_on_a_fallback_list_of_gpus(
    modal_app,  # type: ignore[no-untyped-def]
    declared,
) -> None:
    for name in ("DepthWorker", "MaskWorker"):
        # An H100 and no dearer card in its place: the cost estimate prices what ran.
        assert declared[name]["gpu"] == ["H100!", "A100-80GB", "L40S"], name
        assert _volumes(declared[name]) == {"/models": "modal.Volume.from_name('ingest-models')"}
    # The camera function runs the depth and masks stages, which read their model's config.
    for name in ("download_models", "camera_stage"):
        assert _volumes(declared[name]) == _volumes(declared["DepthWorker"]), name
    assert declared["camera_stage"]["env"] == {"INGEST_MODELS_DIR": "/models"}
    # Weights are loaded once per container, in @modal.enter, not per call.
    from modal._partial_function import _find_partial_methods_for_user_cls, _PartialFunctionFlags

    for cls, method in ((modal_app.DepthWorker, "predict"), (modal_app.MaskWorker, "track")):
        entered = _find_partial_methods_for_user_cls(
            cls._get_user_cls(), _PartialFunctionFlags.ENTER_POST_SNAPSHOT
        )
        assert list(entered) == ["load"]
        assert list(cls._get_method_names()) == [method]


def test_web_and_poller_wiring(modal_app) -> None:  # type: ignore[no-untyped-def]
    assert modal_app.web._is_web_endpoint()
    assert not modal_app.poll._is_web_endpoint()
    assert modal_app.POLL_SCHEDULE == "*/5 * * * *"


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
    # The stage's function reserves 8 GiB, and the cost estimate bills it beside the cores.
    frames = record.stages["frames"]
    assert frames.memory_gib == 8.0
    pricing = load_settings().pricing
    cores_only = pricing.stage_cost(frames.duration_s, frames.cpu_cores, frames.device)
    manifest = Manifest.model_validate_json(s3_env.get(record.manifest_key).data)
    assert manifest.cost.by_stage["frames"] > cores_only


class WithModels(Protocol):
    def __call__(self, plate: Path, key: str, **settings: object) -> JobRecord: ...


@pytest.fixture
def with_models(
    modal_app,  # type: ignore[no-untyped-def]
    s3_env: S3Store,
    models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> WithModels:
    """Runs a plate's job through the app with its GPU workers loading the tiny models
    from a folder; .local() warns that the weights Volume is not mounted, as expected."""

    def run(plate: Path, key: str, **settings: object) -> JobRecord:
        _settings_env(monkeypatch, models_dir=models_dir, **settings)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*mounted Volume")
            return _run_on_modal(modal_app, s3_env, plate, key)

    return run


@pytest.mark.slow
def test_sam3_masks_fan_out_over_gpu_workers_and_come_back_stitched(
    with_models: WithModels, s3_env: S3Store, tmp_path: Path
) -> None:
    plate = make_plate(tmp_path / "plate.mov", seconds=0.5, width=96, height=64)  # 12 frames
    record = with_models(
        plate,
        "incoming/m.mov",
        stages="probe,frames,masks",
        masks_backend="sam3",
        masks_chunk_frames=8,
        masks_chunk_overlap=2,
    )
    run = record.stages["masks"]
    assert run.status.value == "done", run.error
    assert run.parameters["chunks"] == 2  # frames 0-7, then 6-11 (2 shared)
    assert s3_env.head(f"{record.output_prefix}masks/person/mask.0012.png").size > 0
    # The chunks' intermediate files are gone once the stage has published.
    assert list(s3_env.list(f".ingest/work/{record.job_id}/")) == []


@pytest.mark.slow
def test_depth_chunks_fan_out_and_are_aligned_on_the_cpu_side(
    with_models: WithModels, s3_env: S3Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
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
    truth = [Scene().render(c, focal, width, height).depth for c in cams]

    def predict(self: DepthAnything, frames: list) -> np.ndarray:  # type: ignore[type-arg]
        # Frames are told apart by content: find each one's index among the truths.
        out = []
        for frame in frames:
            i = int(
                np.argmin([np.abs(frame[::8, ::8, 1].astype(float) - r).mean() for r in rendered])
            )
            out.append((2.0 + 0.1 * i) / truth[i] + 0.01 * i)
        return np.stack(out).astype(np.float32)

    images = [Scene().render(c, focal, width, height).image for c in cams]
    rendered = [image[::8, ::8, 1].astype(float) for image in images]
    monkeypatch.setattr(DepthAnything, "predict", predict)
    record = with_models(
        plate,
        "incoming/d.mp4",
        stages="probe,frames,camera,depth",
        depth_backend="depth-anything",
        model_chunk_frames=10,
    )
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


def test_a_stage_past_its_time_limit_fails_the_job_for_good(
    modal_app,  # type: ignore[no-untyped-def]
    s3_env: S3Store,
    plates: Plates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Modal raises FunctionTimeoutError at the caller when a stage's function runs past
    its timeout; the job fails once, not retryable, and a later call is a no-op."""
    import modal.exception

    from ingest_service.run import remote

    real = remote.run_stage_for_job

    def frames_never_end(services, record, stage, **kwargs):  # type: ignore[no-untyped-def]
        if stage == "frames":
            raise modal.exception.FunctionTimeoutError("Function timed out")
        return real(services, record, stage, **kwargs)

    monkeypatch.setattr(remote, "run_stage_for_job", frames_never_end)
    services = Services.build(load_settings(), store=s3_env)
    ref = ref_for_local_file(s3_env, plates.h264, key="incoming/long.mov")
    job_id = claim_plate(services, ref).record.job_id

    assert modal_app.run_job.local(job_id, "local") == "failed"
    record = services.ledger.get(job_id)
    assert record.error is not None and record.error.type == "StageTimeoutError"
    assert record.error.stage == "frames" and "6 h" in record.error.message
    assert not record.error.retryable and not record.retry_allowed
    # A duplicate or late call changes nothing and raises nothing.
    assert modal_app.run_job.local(job_id, "local") == "failed"
    assert services.ledger.get(job_id).attempt == record.attempt == 1


def test_duplicate_run_job_calls_are_quiet_no_ops(
    modal_app,  # type: ignore[no-untyped-def]
    s3_env: S3Store,
    plates: Plates,
) -> None:
    services = Services.build(load_settings(), store=s3_env)
    ref = ref_for_local_file(s3_env, plates.h264, key="incoming/twice.mov")
    job_id = claim_plate(services, ref).record.job_id
    services.ledger.acquire(job_id, owner="another-container", lease_s=600)
    assert modal_app.run_job.local(job_id, "local") == "running"
    record = services.ledger.get(job_id)
    assert record.lease is not None and record.lease.owner == "another-container"
    assert record.stages == {}
