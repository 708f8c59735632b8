"""Publishing: check every output is in place, then write the manifest (the commit point)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from ingest_service.costs import Pricing
from ingest_service.jobs.record import ErrorInfo, JobRecord, utcnow
from ingest_service.jobs.results import OutputFile
from ingest_service.jobs.states import StageStatus
from ingest_service.publish.manifest import Manifest, build_manifest
from storage import ObjectStore

MANIFEST = "manifest.json"
FAILURE = "failure.json"


class FailureRecord(BaseModel):
    """Left in the version folder of a failed job, where the manifest would have been."""

    kind: Literal["failure"] = "failure"
    job_id: str
    source_bucket: str
    source_key: str
    attempt: int
    max_attempts: int
    will_retry: bool
    error: ErrorInfo
    stages: dict[str, StageStatus]
    failed_at: datetime


def outputs_of(record: JobRecord) -> dict[str, list[OutputFile]]:
    """Each stage's recorded output files, by stage name."""
    return {name: run.result.outputs() for name, run in record.stages.items() if run.result}


def missing_outputs(store: ObjectStore, record: JobRecord) -> set[str]:
    """Stages whose recorded files are not all in the store at the recorded size.

    One paginated LIST of the version folder (a request per thousand files), never a
    HEAD per file.
    """
    assert record.output_prefix
    present = {info.key: info.size for info in store.list(record.output_prefix)}
    return {
        stage
        for stage, files in outputs_of(record).items()
        if any(present.get(f.key) != f.size for f in files)
    }


def write_manifest(store: ObjectStore, record: JobRecord, *, pricing: Pricing) -> Manifest:
    assert record.output_prefix
    manifest = build_manifest(record, pricing=pricing)
    if record.failure_key:
        store.delete(record.failure_key)  # an earlier attempt's; this one succeeded
    store.put(
        record.output_prefix + MANIFEST,
        manifest.model_dump_json(indent=2).encode("utf-8"),
        content_type="application/json",
    )
    return manifest


def write_failure(store: ObjectStore, record: JobRecord, error: ErrorInfo) -> str | None:
    if not record.output_prefix:
        return None
    will_retry = error.retryable and record.attempt < record.max_attempts
    failure = FailureRecord(
        job_id=record.job_id,
        source_bucket=record.source.bucket,
        source_key=record.source.key,
        attempt=record.attempt,
        max_attempts=record.max_attempts,
        will_retry=will_retry,
        error=error,
        stages={name: run.status for name, run in record.stages.items()},
        failed_at=utcnow(),
    )
    key = record.output_prefix + FAILURE
    store.put(
        key, failure.model_dump_json(indent=2).encode("utf-8"), content_type="application/json"
    )
    return key
