"""The notification body every channel sends."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ingest_service.jobs.record import ErrorInfo, JobRecord, utcnow
from ingest_service.jobs.states import JobState
from ingest_service.notify.verdict import CameraVerdict, camera_verdict

Event = Literal["job.published", "job.failed"]


class Notification(BaseModel):
    """Says where the result is; carries keys, never presigned URLs or credentials."""

    event: Event
    job_id: str
    state: JobState
    attempt: int
    will_retry: bool
    bucket: str
    source_key: str
    source_etag: str
    shot: str | None
    version: str | None
    manifest_key: str | None
    failure_key: str | None
    error: ErrorInfo | None
    camera: CameraVerdict | None = Field(
        default=None, description="the camera solve's verdict, when the camera stage ran"
    )
    sent_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def for_job(cls, record: JobRecord) -> Notification:
        published = record.state is JobState.PUBLISHED
        return cls(
            event="job.published" if published else "job.failed",
            job_id=record.job_id,
            state=record.state,
            attempt=record.attempt,
            will_retry=record.retry_allowed,
            bucket=record.source.bucket,
            source_key=record.source.key,
            source_etag=record.source.etag,
            shot=record.shot,
            version=record.version,
            manifest_key=record.manifest_key,
            failure_key=record.failure_key,
            error=None if published else record.error,
            camera=camera_verdict(record),
        )

    def body(self) -> bytes:
        return self.model_dump_json().encode("utf-8")
