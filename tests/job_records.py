"""Job records as the pipeline leaves them, for the tests of what reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ingest_service.jobs.options import FrameFormat, JobOptions
from ingest_service.jobs.record import JobRecord, StageRun
from ingest_service.jobs.results import StageResult
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import StageStatus


def job_record(job_id: str, source: ObjectRef, stages: list[str], **fields: Any) -> JobRecord:
    """A claimed job with one attempt, PNG frames numbered from 1; `fields` set the rest."""
    options = JobOptions(
        stages=stages,
        frame_format=FrameFormat.PNG,
        first_frame=1,
        png_compression=1,
        jpeg_quality=90,
        thumbnail_width=64,
    )
    return JobRecord(job_id=job_id, source=source, options=options, max_attempts=1, **fields)


def stage_run(
    name: str,
    result: StageResult | None,
    *,
    status: StageStatus = StageStatus.DONE,
    at: datetime | None = None,
    parameters: dict[str, Any] | None = None,
) -> StageRun:
    """A stage's run as the pipeline records it once the stage has finished (at `at`)."""
    now = at or datetime.now(UTC)
    return StageRun(
        name=name,
        status=status,
        started_at=now,
        finished_at=now,
        duration_s=1.0,
        device="cpu",
        cpu_cores=1,
        backend="test",
        parameters=parameters or {},
        result=result,
    )


def add_stage(
    record: JobRecord, name: str, result: StageResult, parameters: dict[str, Any] | None = None
) -> None:
    """Record the stage as done, with its result."""
    record.stages[name] = stage_run(name, result, parameters=parameters)
