"""The job record: one JSON object per job under `.ingest/jobs/`, the bucket being the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from ingest_service.jobs.options import JobOptions
from ingest_service.jobs.results import StageResult
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState, StageStatus
from storage import Codec

R = TypeVar("R")


def utcnow() -> datetime:
    return datetime.now(UTC)


class ErrorInfo(BaseModel):
    """What went wrong, in words an artist can act on; never a credential."""

    type: str
    message: str
    retryable: bool
    stage: str | None = None
    at: datetime = Field(default_factory=utcnow)


class Lease(BaseModel):
    owner: str
    until: datetime
    released: bool = Field(
        default=False, description="handed back at shutdown: the next taker does not count it"
    )


class StageRun(BaseModel):
    name: str
    status: StageStatus
    started_at: datetime
    finished_at: datetime
    duration_s: float
    device: str
    cpu_cores: int
    gpu_seconds: float | None = None
    memory_gib: float = 0.0
    backend: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    result: StageResult | None = None
    error: ErrorInfo | None = None


class Delivery(BaseModel):
    """One notification sent (or not) for this job."""

    channel: str
    target: str
    event: str
    attempt: int = 0
    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None
    at: datetime = Field(default_factory=utcnow)


class JobRecord(BaseModel):
    schema_version: int = 1
    job_id: str
    source: ObjectRef
    options: JobOptions
    state: JobState = JobState.CLAIMED
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    attempt: int = 0
    max_attempts: int
    spent_s: float = Field(default=0.0, description="stage time used over all attempts, in s")
    lease: Lease | None = None
    dispatched_at: datetime | None = Field(
        default=None, description="when the poller last handed the job to a worker to start"
    )
    current_stage: str | None = None
    shot: str | None = None
    version: str | None = None
    output_prefix: str | None = None
    stages: dict[str, StageRun] = Field(default_factory=dict)
    manifest_key: str | None = None
    failure_key: str | None = None
    error: ErrorInfo | None = None
    deliveries: list[Delivery] = Field(default_factory=list)

    def to_json(self) -> bytes:
        return self.model_dump_json(indent=1).encode("utf-8")

    def result(self, name: str, kind: type[R]) -> R | None:
        """The result stage `name` recorded, if it recorded one of this kind."""
        run = self.stages.get(name)
        if run is not None and isinstance(run.result, kind):
            return run.result
        return None

    def stage_done(self, name: str) -> bool:
        run = self.stages.get(name)
        return run is not None and run.status is StageStatus.DONE

    def lease_live(self, now: datetime) -> bool:
        return self.lease is not None and self.lease.until > now

    def last_dispatched(self) -> datetime | None:
        """When a worker was last asked to start the job as it stands: its claim (which
        dispatches it) or a later re-dispatch; None for a failure not dispatched since."""
        if self.state is JobState.CLAIMED:
            return max(self.created_at, self.dispatched_at or self.created_at)
        if self.dispatched_at is not None and self.dispatched_at > self.updated_at:
            return self.dispatched_at
        return None

    @property
    def finished(self) -> bool:
        """Published, or failed with no retry to come: nothing more will run."""
        return self.state is JobState.PUBLISHED or (
            self.state is JobState.FAILED and not self.retry_allowed
        )

    def notified(self) -> bool:
        """A notification of the current outcome was sent (good or bad delivery)."""
        event = "job.published" if self.state is JobState.PUBLISHED else "job.failed"
        return any(d.event == event and d.attempt == self.attempt for d in self.deliveries)

    @property
    def retry_allowed(self) -> bool:
        return (
            self.state is JobState.FAILED
            and self.error is not None
            and self.error.retryable
            and self.attempt < self.max_attempts
        )


RECORD_CODEC = Codec(JobRecord.model_validate_json, JobRecord.to_json)
