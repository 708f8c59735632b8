"""What every event format is reduced to."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest_service.jobs.source import ObjectRef


@dataclass(frozen=True, slots=True)
class Notice:
    """One object event: what happened (`ObjectCreated:Put`, …) to which object version."""

    ref: ObjectRef
    event: str
    source: str  # "s3", "minio" or "eventbridge"; sequencers are trusted only from AWS


@dataclass(frozen=True, slots=True)
class Skipped:
    key: str | None
    reason: str


@dataclass
class Parsed:
    notices: list[Notice] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
