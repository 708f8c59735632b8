"""ingest-service on Modal: webhook, cron poller, job orchestrator and stage functions.

One narrative file. The same pipeline code as on a workstation; this module only wires it:

    modal deploy infra/modal_app.py          # web endpoint, poller, functions
    ingest-service submit s3://<bucket>/incoming/sh0040.mov --modal   # one object, by hand

    modal run infra/modal_app.py::download_models            # weights into the Volume

Secrets (create them first; see docs/MODAL-DEPLOYMENT.md):
  ingest-s3       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and INGEST_STORE=s3://<bucket>
                  (+ optional AWS_ENDPOINT_URL for MinIO/R2, any other INGEST_* setting)
  ingest-webhook  INGEST_WEBHOOK_TOKEN, INGEST_NOTIFY_SIGNING_KEY (+ INGEST_NOTIFY_URL, …)
  ingest-hf       optional, only to download gated weights (SAM 3): HF_TOKEN; used when
                  INGEST_MODAL_HF_SECRET=ingest-hf is set as download_models is run

Modal retries none of these functions: a failure is recorded in the job's record, which
decides whether the job is run again (see pipeline.run and the poller), so a stage that
runs past its time limit costs one timeout, not one per retry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal

import modal

from infra import pins
from infra.cron import period_s
from infra.deployment import app_name
from infra.timeouts import timeouts_are_final
from ingest_service.jobs.states import StageName

if TYPE_CHECKING:
    from fastapi import FastAPI
    from modal.app import _FunctionDecoratorType

    from ingest_service.depth.neural import ChunkFits
    from ingest_service.jobs.record import JobRecord
    from ingest_service.masks.sam3 import ChunkTracks
    from ingest_service.services import Services
    from ingest_service.settings import Settings
    from ingest_service.stages.base import StageContext, StageOutput, StageSpec

Call = Literal["remote", "local"]  # "local": the function bodies run here (tests)

APP_NAME = app_name()
POLL_SCHEDULE = os.environ.get("INGEST_MODAL_POLL_CRON", "*/5 * * * *")
# The poller's interval on Modal is its schedule's; a pass must end before the next starts.
POLL_PERIOD_S = period_s(POLL_SCHEDULE)
POLL_TIMEOUT_S = int(max(30.0, POLL_PERIOD_S - 60.0))
# Time limits, per call: the dashboard's live stream reconnects by itself when cut (its
# `retry:` line), so an hour per connection; a stage six hours; a GPU chunk one hour.
WEB_TIMEOUT_S = 3600
JOB_TIMEOUT_S = 24 * 3600
STAGE_TIMEOUT_S = 6 * 3600
GPU_TIMEOUT_S = 3600
MODELS_DIR = "/models"  # where the weights Volume is mounted
# Set to the name of a secret holding HF_TOKEN when download_models must fetch gated
# weights (SAM 3); without it, no function needs that secret to deploy.
HF_SECRET = os.environ.get("INGEST_MODAL_HF_SECRET")
# A domain of yours for the web endpoint (its DNS pointed at Modal first; see the docs).
DOMAIN = os.environ.get("INGEST_MODAL_DOMAIN")
PYTHON = "3.11"
OUR_PACKAGES = ("storage", "ingest_service", "handlers", "infra")
# Our Python files, and the dashboard's page and scripts beside them.
OUR_FILES = ~modal.FilePatternMatcher("**/*.py", "**/dashboard/static/*")

app = modal.App(APP_NAME)

# --- Images: one base; each adds only what it needs, at the versions the tests ran -------


def _with_our_code(image: modal.Image) -> modal.Image:
    # constraints.txt goes along: this module reads the pins from it in every container.
    return image.add_local_python_source(*OUR_PACKAGES, ignore=OUR_FILES).add_local_file(
        pins.CONSTRAINTS, f"/root/{pins.CONSTRAINTS.name}"
    )


# The web one without the media stack (fast cold starts).
base_image = (
    modal.Image.debian_slim(python_version=PYTHON)
    .uv_pip_install(*pins.pins(pins.WEB))
    .env({"INGEST_ENVIRONMENT": "production"})
)
# The stage functions reserve STAGE_CPUS: as many OpenMP threads, no more.
STAGE_CPUS = 4
MEDIA_MEMORY_MIB = 8192
CAMERA_MEMORY_MIB = 8192  # see camera_stage for what its stages were measured to use
media_base = base_image.uv_pip_install(*pins.pins(pins.MEDIA)).env(
    {"OMP_NUM_THREADS": str(STAGE_CPUS)}
)
web_image = _with_our_code(base_image)
media_image = _with_our_code(media_base)
# CUDA torch (PyPI's default build) and transformers, for the model stages.
gpu_image = _with_our_code(
    media_base.uv_pip_install(*pins.pins(pins.MODELS)).env(
        {"INGEST_MODELS_DIR": MODELS_DIR, "HF_HUB_OFFLINE": "1"}
    )
)
# On the web image: every container imports this module, and with it our storage package.
download_image = _with_our_code(base_image.uv_pip_install(*pins.pins(pins.DOWNLOAD)))

# --- Weights: a Volume, filled once by download_models, read by the GPU workers --------
models_volume = modal.Volume.from_name("ingest-models", create_if_missing=True)
# First card in the list that has capacity; all hold SAM 3 with a few tracked objects
# (31 GiB peak measured at 1080p with 8 objects). "H100!" is an H100 and nothing else:
# a plain "H100" may be upgraded to a dearer card, which the cost estimate would not match.
GPUS = ["H100!", "A100-80GB", "L40S"]

# --- Secrets -----------------------------------------------------------------------------
s3_secret = modal.Secret.from_name(
    "ingest-s3", required_keys=["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "INGEST_STORE"]
)
webhook_secret = modal.Secret.from_name(
    "ingest-webhook", required_keys=["INGEST_WEBHOOK_TOKEN", "INGEST_NOTIFY_SIGNING_KEY"]
)
SECRETS = [s3_secret, webhook_secret]
HF_SECRETS = [modal.Secret.from_name(HF_SECRET, required_keys=["HF_TOKEN"])] if HF_SECRET else []


def _services(**overrides: object) -> Services:
    from ingest_service.services import Services
    from ingest_service.settings import load_settings

    return Services.build(load_settings(**overrides))


class ModalDispatcher:
    """Dispatch = spawn the orchestrator; returns at once, never runs stages here."""

    def submit(self, job_id: str) -> bool:
        run_job.spawn(job_id)
        return True


class ModalStages:
    """Each stage's work in its own function, sized for it; the orchestrator keeps the lease
    and hands each function the job's record, so nothing is read back from the bucket."""

    def __init__(self, call: Call = "remote") -> None:
        self.call = call  # "local" in tests: same code path, no Modal account

    def run(self, spec: StageSpec, ctx: StageContext) -> StageOutput:
        record = ctx.job.model_dump_json()
        with timeouts_are_final(spec.name, STAGE_TIMEOUT_S):
            if spec.name in (StageName.PROBE, StageName.FRAMES):
                media = media_stage.local if self.call == "local" else media_stage.remote
                output, memory_mib = media(record, spec.name), MEDIA_MEMORY_MIB
            else:
                camera = camera_stage.local if self.call == "local" else camera_stage.remote
                output, memory_mib = camera(record, spec.name, self.call), CAMERA_MEMORY_MIB
        # Modal bills the memory a function reserves, whatever the stage used of it.
        return replace(output, memory_gib=memory_mib / 1024)


class ModalFanout:
    """A model stage's chunks, mapped over GPU workers; they pass keys, never frames."""

    def __init__(self, record: str, call: Call = "remote") -> None:
        self.record = record  # the job's record as the stage got it, as JSON
        self.call = call

    def depth_chunks(self, job_id: str, ranges: list[tuple[int, int]]) -> list[ChunkFits]:
        worker = DepthWorker()
        with timeouts_are_final(StageName.DEPTH, GPU_TIMEOUT_S):
            if self.call == "local":
                return [worker.predict.local(self.record, start, end) for start, end in ranges]
            starts, ends = zip(*ranges, strict=True)
            return list(worker.predict.map([self.record] * len(ranges), starts, ends))

    def mask_chunks(self, job_id: str, chunks: list[tuple[int, int, int]]) -> list[ChunkTracks]:
        worker = MaskWorker()
        with timeouts_are_final(StageName.MASKS, GPU_TIMEOUT_S):
            if self.call == "local":
                return [worker.track.local(self.record, *chunk) for chunk in chunks]
            starts, ends, firsts = zip(*chunks, strict=True)
            return list(worker.track.map([self.record] * len(chunks), starts, ends, firsts))


# --- The ways in ------------------------------------------------------------------------
@app.function(image=web_image, secrets=SECRETS, scaledown_window=300, timeout=WEB_TIMEOUT_S)
@modal.concurrent(max_inputs=100)
@modal.asgi_app(custom_domains=[DOMAIN] if DOMAIN else None)
def web() -> FastAPI:
    """POST /events (S3 via SNS, EventBridge, MinIO) and GET /health."""
    from handlers.app import create_app

    return create_app(_services(), ModalDispatcher())


@app.function(
    image=web_image,
    secrets=SECRETS,
    schedule=modal.Cron(POLL_SCHEDULE),
    timeout=POLL_TIMEOUT_S,
    max_containers=1,  # one pass at a time, even when one runs late
)
def poll() -> dict[str, int]:
    """The backstop: claim what events missed, re-dispatch stalled and retryable jobs."""
    from handlers.admission import Gate
    from handlers.poller import Poller

    services = _services(poll_interval_s=POLL_PERIOD_S)
    report = Poller(Gate(services, ModalDispatcher())).poll_once()
    return {
        "listed": report.listed,
        "claimed": len(report.admission.claimed),
        "redispatched": len(report.redispatched),
        "notified": len(report.notified),
    }


# --- The job and its stages ---------------------------------------------------------------
@app.function(image=media_image, secrets=SECRETS, timeout=JOB_TIMEOUT_S, max_containers=50)
def run_job(job_id: str, stage_call: Call = "remote") -> str:
    """Orchestrate one job: lease, stage table, publish, notify. A duplicate call (the job
    runs elsewhere, or has finished) returns the job's state and does nothing."""
    from ingest_service.run import pipeline

    runner = ModalStages(stage_call)
    return pipeline.run_dispatched(job_id, _services(), runner=runner).state.value


def _stage_function(
    memory: int,
    max_containers: int,
    ephemeral_disk: int | None = None,
    volumes: dict[str | PurePosixPath, modal.Volume | modal.CloudBucketMount] | None = None,
    env: dict[str, str | None] | None = None,
) -> _FunctionDecoratorType:
    """A stage's function: the media image, STAGE_CPUS, up to six hours; sized per stage."""
    return app.function(
        image=media_image,
        secrets=SECRETS,
        cpu=float(STAGE_CPUS),
        memory=memory,
        timeout=STAGE_TIMEOUT_S,
        max_containers=max_containers,
        ephemeral_disk=ephemeral_disk,
        volumes=volumes or {},
        env=env,
    )


@_stage_function(memory=MEDIA_MEMORY_MIB, max_containers=50, ephemeral_disk=100 * 1024)
def media_stage(record: str, stage: str) -> StageOutput:
    """probe and frames: streaming decode, several encoder threads."""
    from ingest_service.run.remote import run_stage_for_job

    # Threads to match the CPUs reserved, not the host's (which may be many more).
    return run_stage_for_job(_services(workers=STAGE_CPUS), _job(record), stage)


# The models Volume too: the depth and masks stages record their model's config from it.
@_stage_function(
    memory=CAMERA_MEMORY_MIB,
    max_containers=20,
    volumes={MODELS_DIR: models_volume},
    env={"INGEST_MODELS_DIR": MODELS_DIR},
)
def camera_stage(record: str, stage: str, fanout_call: Call = "remote") -> StageOutput:
    """camera, depth and masks. Sized from measurements (docs/camera.md): the camera solve
    tracks on one thread and maps and adjusts on a few, and its peak memory is about
    0.2 GiB, flat with clip length (48 frames 0.17 GiB, 120 frames 0.20 GiB); the classical
    depth and masks peaked at 1 GiB on a 48-frame job. The neural backends map their chunks
    over the GPU workers below and align and publish their results here."""
    from ingest_service.run.remote import run_stage_for_job

    fanout = ModalFanout(record, fanout_call)
    _reload_models()
    return run_stage_for_job(_services(workers=STAGE_CPUS), _job(record), stage, fanout=fanout)


# Both model workers: the weights Volume, a GPU from the list, a few containers kept warm.
gpu_worker = app.cls(
    image=gpu_image,
    secrets=SECRETS,
    gpu=GPUS,
    cpu=float(STAGE_CPUS),  # the image's OpenMP threads: decoding and resizing frames
    volumes={MODELS_DIR: models_volume},
    timeout=GPU_TIMEOUT_S,
    max_containers=10,
    scaledown_window=120,
)


def _job(record: str) -> JobRecord:
    from ingest_service.jobs.record import JobRecord

    return JobRecord.model_validate_json(record)


def _reload_models() -> None:
    # The Volume may have been filled (download_models) since this container started.
    if not modal.is_local():
        models_volume.reload()


def _with_model(load: Callable[[Settings], object]) -> Services:
    """A GPU container's services, with its model loaded once (in @modal.enter)."""
    _reload_models()
    services = _services()
    load(services.settings)
    return services


@gpu_worker
class DepthWorker:
    """Depth Anything V2 on a GPU: loaded once per container, then chunk after chunk."""

    @modal.enter()
    def load(self) -> None:
        from ingest_service.depth.neural import load_model

        self.services = _with_model(load_model)

    @modal.method()
    def predict(self, record: str, start: int, end: int) -> ChunkFits:
        from ingest_service.run.remote import depth_chunk_for_job

        return depth_chunk_for_job(self.services, _job(record), start, end)


@gpu_worker
class MaskWorker:
    """SAM 3 video on a GPU: one overlapping chunk of frames per call."""

    @modal.enter()
    def load(self) -> None:
        from ingest_service.masks.sam3 import load_model

        self.services = _with_model(load_model)

    @modal.method()
    def track(self, record: str, start: int, end: int, first_written: int) -> ChunkTracks:
        from ingest_service.run.remote import mask_chunk_for_job

        return mask_chunk_for_job(self.services, _job(record), start, end, first_written)


@app.function(
    image=download_image, secrets=HF_SECRETS, volumes={MODELS_DIR: models_volume}, timeout=3600
)
def download_models(names: str = "depth-anything-v2-small,sam3") -> list[str]:
    """Snapshot models from the hub into the weights Volume, then commit it."""
    from pathlib import Path

    from ingest_service.models.catalogue import download

    done = [str(download(n.strip(), Path(MODELS_DIR))) for n in names.split(",") if n.strip()]
    models_volume.commit()
    return done


@app.function(image=web_image, secrets=SECRETS, timeout=120)
def submit(key: str, bucket: str | None = None, start: bool = True) -> str:
    """Claim one object of the deployment's bucket, with the deployment's credentials, and
    (with `start`) spawn its job; returns the job's record as JSON. What `ingest-service
    submit --modal` calls, so that nothing is claimed against a laptop's own settings."""
    from ingest_service.cli.plates import ref_for_key
    from ingest_service.errors import PlateInputError
    from ingest_service.run.intake import claim_plate

    services = _services()
    if bucket is not None and bucket != services.store.bucket:
        raise PlateInputError(f"this deployment watches {services.store.bucket}, not {bucket}")
    claim = claim_plate(services, ref_for_key(services.store, key))
    if claim.claimed and start:
        ModalDispatcher().submit(claim.record.job_id)
    return claim.record.model_dump_json()


@app.local_entrypoint()
def main(key: str) -> None:
    """Claim one object of the bucket in the cloud, and run its job while this waits: the
    app of `modal run` or `modal serve` lives only as long as its entrypoint."""
    from ingest_service.jobs.record import JobRecord

    record = JobRecord.model_validate_json(submit.remote(key, None, False))
    print(f"{record.job_id}: {record.state} ({record.source.key})")
    print(f"{record.job_id}: {run_job.remote(record.job_id)}")
