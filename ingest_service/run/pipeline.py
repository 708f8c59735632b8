"""pipeline.run(job_id): place → stages → publish → notify, under the job's lease."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path

from ingest_service.errors import (
    IngestError,
    JobBudgetExceededError,
    JobInterruptedError,
    JobLeaseHeldError,
    JobLeaseLostError,
    JobStateError,
    SidecarInvalidError,
)
from ingest_service.jobs.handle import Heartbeat, JobHandle
from ingest_service.jobs.naming import shot_path
from ingest_service.jobs.record import ErrorInfo, JobRecord, StageRun, utcnow
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.logs import log_context
from ingest_service.metrics import METRICS
from ingest_service.progress import NullProgress, Progress
from ingest_service.publish.commit import missing_outputs, write_failure, write_manifest
from ingest_service.publish.versions import allocate_version
from ingest_service.redact import redact
from ingest_service.run.notify import notify_finished
from ingest_service.services import Services, worker_id
from ingest_service.stages.base import InProcess, StageContext, StageRunner, StageSpec
from ingest_service.stages.table import plan
from storage import StorageError

log = logging.getLogger(__name__)


def run(
    job_id: str,
    services: Services,
    *,
    owner: str | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    runner: StageRunner | None = None,
) -> JobRecord:
    """Run a claimed job to `published` or `failed`; returns the final record.

    Safe to call again after a crash: recorded stages are skipped, and the version
    folder is the one this job already holds. When `stop` is set (shutdown), the job
    is handed back after the current stage, for the next start to resume.
    """
    with log_context(job_id=job_id):
        return _run(
            job_id,
            services,
            owner,
            progress or NullProgress(),
            stop or threading.Event(),
            runner or InProcess(),
        )


def run_dispatched(
    job_id: str,
    services: Services,
    *,
    stop: threading.Event | None = None,
    runner: StageRunner | None = None,
) -> JobRecord:
    """`run` for a dispatched call (a Modal function, a queued thread), where dispatch is at
    least once: a call for a job that another worker holds, or that has finished, is a
    normal duplicate. It logs and returns the job's record as it stands, raising nothing
    that would make the caller's platform retry it or report a failure."""
    try:
        return run(job_id, services, stop=stop, runner=runner)
    except (JobLeaseHeldError, JobLeaseLostError, JobStateError) as exc:
        log.info("job %s: not run by this call: %s", job_id, exc)
        return services.ledger.get(job_id)


def _run(
    job_id: str,
    services: Services,
    owner: str | None,
    progress: Progress,
    stop: threading.Event,
    runner: StageRunner,
) -> JobRecord:
    handle = services.ledger.acquire(
        job_id, owner=owner or worker_id(), lease_s=services.settings.lease_seconds
    )
    try:
        with Heartbeat(handle), tempfile.TemporaryDirectory(prefix="ingest-") as scratch:
            # Options first: a bad sidecar must not claim a version folder for its shot.
            _check_options(handle.record)
            _place_outputs(handle, services)
            _run_stages(handle, services, progress, Path(scratch), stop, runner)
            _publish(handle, services, runner)
    except JobLeaseLostError:
        log.warning("job %s: taken over by another worker; leaving it to them", job_id)
        raise
    except (JobInterruptedError, KeyboardInterrupt) as exc:
        log.warning(
            "job %s: handed back at %s for the next start",
            job_id,
            handle.record.current_stage or "its start",
        )
        handle.release()
        if isinstance(exc, KeyboardInterrupt):
            raise
        return handle.record
    except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded, notified job
        _fail(handle, services, exc)
    METRICS.job_finished(handle.record.state.value)
    return notify_finished(services, handle.record)


def _place_outputs(handle: JobHandle, services: Services) -> None:
    record = handle.record
    if record.output_prefix:
        return
    layout = services.settings.layout
    shot = record.options.shot or shot_path(record.source.key, layout.incoming)
    version = allocate_version(services.store, layout, shot, record.job_id)

    def place(r: JobRecord) -> None:
        r.shot, r.version = shot, version
        r.output_prefix = layout.output(shot, version)

    handle.update(place)


def _check_options(record: JobRecord) -> None:
    if record.options.sidecar_error:
        raise SidecarInvalidError(record.options.sidecar_error)


def _run_stages(
    handle: JobHandle,
    services: Services,
    progress: Progress,
    scratch: Path,
    stop: threading.Event | None = None,
    runner: StageRunner | None = None,
) -> None:
    for spec in plan(handle.record.options.stages, handle.record.options):
        if stop is not None and stop.is_set():
            raise JobInterruptedError(f"shutting down before stage {spec.name}")
        if handle.record.stage_done(spec.name):
            progress.finished(spec.name, "skipped", 0.0, "recorded by an earlier attempt")
            continue
        _check_budget(handle.record, services.settings.max_job_seconds)
        _run_stage(spec, handle, services, progress, scratch, runner or InProcess())


def _run_stage(
    spec: StageSpec,
    handle: JobHandle,
    services: Services,
    progress: Progress,
    scratch: Path,
    runner: StageRunner,
) -> None:
    def begin(r: JobRecord) -> None:
        r.current_stage = spec.name

    record = handle.update(begin)
    assert record.output_prefix
    ctx = StageContext(
        job=record,
        store=services.store,
        settings=services.settings.for_job(record.options),
        output_prefix=record.output_prefix,
        scratch=scratch,
        check=handle.check,
        progress=progress,
    )
    started, clock = utcnow(), time.perf_counter()
    try:
        with log_context(stage=spec.name):
            log.info("stage %s started", spec.name)
            output = runner.run(spec, ctx)
    except JobLeaseLostError:
        raise
    except Exception as exc:
        duration = time.perf_counter() - clock
        progress.finished(spec.name, "failed", duration, redact(str(exc)))
        METRICS.stage_finished(spec.name, "failed", duration)
        if spec.critical:
            handle.update(lambda r: _spend(r, duration))
            raise
        # A non-critical stage is published as failed beside the stages that worked.
        outcome: dict[str, object] = {
            "status": StageStatus.FAILED,
            "device": "cpu",
            "cpu_cores": 1,
            "backend": "",
            "error": error_info(exc, spec.name),
        }
    else:
        duration = time.perf_counter() - clock
        progress.finished(spec.name, "done", duration)
        METRICS.stage_finished(spec.name, "done", duration)
        outcome = {
            "status": StageStatus.DONE,
            "device": output.device,
            "cpu_cores": output.cpu_cores,
            "gpu_seconds": output.gpu_seconds,
            "memory_gib": output.memory_gib,
            "backend": output.backend,
            "parameters": output.parameters,
            "result": output.result,
        }
    run = StageRun.model_validate(
        {
            "name": spec.name,
            "started_at": started,
            "finished_at": utcnow(),
            "duration_s": duration,
            **outcome,
        }
    )

    def record_stage(r: JobRecord) -> None:
        r.stages[spec.name] = run
        _spend(r, duration)

    handle.update(record_stage)


def _spend(record: JobRecord, seconds: float) -> None:
    record.spent_s += seconds


def _check_budget(record: JobRecord, budget_s: float) -> None:
    """No stage starts once the job has used its budget, over all its attempts: what
    bounds the bill of a job that keeps failing in a retryable way."""
    if record.spent_s >= budget_s:
        raise JobBudgetExceededError(
            f"the job used {record.spent_s:.0f} s of stage time over {record.attempt} "
            f"attempt(s), past its budget of {budget_s:.0f} s (INGEST_MAX_JOB_SECONDS)",
            spent_s=record.spent_s,
            budget_s=budget_s,
        )


def _publish(handle: JobHandle, services: Services, runner: StageRunner) -> None:
    record = handle.record
    missing = missing_outputs(services.store, record)
    if missing:
        # Outputs vanished since their stage ran (deleted by hand, lifecycle rule):
        # forget those stages and run them again rather than publish a broken manifest.
        def forget(r: JobRecord) -> None:
            for name in missing:
                r.stages.pop(name, None)

        handle.update(forget)
        log.warning("job %s: re-running %s: recorded outputs are missing", record.job_id, missing)
        with tempfile.TemporaryDirectory(prefix="ingest-") as scratch:
            # The same runner as the first time: on Modal, the stage functions and GPUs.
            _run_stages(handle, services, NullProgress(), Path(scratch), runner=runner)
        record = handle.record
        if missing_outputs(services.store, record):
            raise StorageError("outputs disappeared while the job was publishing")
    manifest = write_manifest(services.store, record, pricing=services.settings.pricing)

    def published(r: JobRecord) -> None:
        r.state = JobState.PUBLISHED
        r.current_stage = None
        r.manifest_key = f"{manifest.prefix}manifest.json"
        r.failure_key = None
        r.error = None

    handle.update(published)


def _fail(handle: JobHandle, services: Services, exc: BaseException) -> None:
    record = handle.record
    error = error_info(exc, record.current_stage)
    log.error("job %s failed in %s: %s", record.job_id, error.stage or "setup", error.message)
    try:
        failure_key = write_failure(services.store, record, error)
    except StorageError as write_exc:
        log.error("job %s: could not write its failure record: %s", record.job_id, write_exc)
        failure_key = None

    def failed(r: JobRecord) -> None:
        r.state = JobState.FAILED
        r.error = error
        r.failure_key = failure_key

    handle.update(failed)


def error_info(exc: BaseException, stage: str | None) -> ErrorInfo:
    """An error in words, with whether a retry may help; unknown errors may be transient."""
    if isinstance(exc, IngestError | StorageError):
        retryable = exc.retryable
        message = str(exc)
    else:
        retryable, message = True, f"internal error: {type(exc).__name__}: {exc}"
    return ErrorInfo(
        type=type(exc).__name__, message=redact(message), retryable=retryable, stage=stage
    )
