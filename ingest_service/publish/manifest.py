"""manifest.json: the commit point of a published result, and what downstream tools read."""

from __future__ import annotations

import json
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest_service.costs import Pricing
from ingest_service.errors import JobStateError
from ingest_service.jobs.record import ErrorInfo, JobRecord, utcnow
from ingest_service.jobs.results import (
    FrameRange,
    FramesResult,
    OutputFile,
    ProbeResult,
    Rational,
    SequenceInfo,
)
from ingest_service.jobs.states import StageName, StageStatus

SCHEMA_VERSION: Literal["1.0"] = "1.0"


class ManifestSource(BaseModel):
    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int
    sha256: str | None


class ShotInfo(BaseModel):
    name: str = Field(description="shot path under the published prefix")
    version: str = Field(description="v001, v002, … one per distinct upload of the same key")
    fps: Rational | None
    width: int | None = Field(description="displayed width in pixels (after rotation)")
    height: int | None
    pixel_aspect: Rational | None
    frame_range: FrameRange | None
    frame_count: int | None
    duration_s: float | None
    timecode: str | None
    rotation_applied: int | None = Field(description="degrees counter-clockwise")


class ManifestStage(BaseModel):
    status: StageStatus
    backend: str
    device: str
    cpu_cores: int
    gpu_seconds: float | None = Field(
        default=None, description="GPU time summed over the workers that ran the model"
    )
    parameters: dict[str, Any]
    started_at: datetime
    finished_at: datetime
    duration_s: float
    details: dict[str, Any] = Field(default_factory=dict, description="the stage's own figures")
    error: ErrorInfo | None = None


RUN_FIELDS = set(ManifestStage.model_fields) - {"details"}


class CostEstimate(BaseModel):
    currency: Literal["USD"] = "USD"
    total: float
    by_stage: dict[str, float]
    basis: str


class Generator(BaseModel):
    name: str = "ingest-service"
    version: str


class Manifest(BaseModel):
    """Everything a pipeline tool needs to find, trust and import a published plate."""

    # Fields with defaults are always written, so readers may rely on them.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    job_id: str
    created_at: datetime
    attempt: int
    prefix: str = Field(description="the version folder every output key starts with")
    source: ManifestSource
    shot: ShotInfo
    stages: dict[str, ManifestStage]
    sequences: list[SequenceInfo]
    files: list[OutputFile]
    cost: CostEstimate
    generator: Generator


def build_manifest(record: JobRecord, *, pricing: Pricing) -> Manifest:
    probe = record.result(StageName.PROBE, ProbeResult)
    frames = record.result(StageName.FRAMES, FramesResult)
    if not (record.shot and record.version and record.output_prefix):
        raise JobStateError("a manifest needs the job's output folder", state=record.state)
    stages = {
        # The manifest shows what the record holds of each run, and the result's summary.
        name: ManifestStage(
            **run.model_dump(include=RUN_FIELDS),
            details=run.result.summary() if run.result else {},
        )
        for name, run in record.stages.items()
    }
    files = [f for run in record.stages.values() if run.result for f in run.result.outputs()]
    sequences = [s for run in record.stages.values() if run.result for s in run.result.sequences()]
    cost = {
        name: pricing.stage_cost(
            run.duration_s, run.cpu_cores, run.device, run.gpu_seconds, memory_gib=run.memory_gib
        )
        for name, run in record.stages.items()
    }
    return Manifest(
        job_id=record.job_id,
        created_at=utcnow(),
        attempt=record.attempt,
        prefix=record.output_prefix,
        source=ManifestSource(
            bucket=record.source.bucket,
            key=record.source.key,
            etag=record.source.etag,
            version_id=record.source.version_id,
            size=probe.size if probe else record.source.size,
            sha256=probe.sha256 if probe else None,
        ),
        shot=ShotInfo(
            name=record.shot,
            version=record.version,
            fps=probe.fps if probe else None,
            width=probe.width if probe else None,
            height=probe.height if probe else None,
            pixel_aspect=probe.pixel_aspect if probe else None,
            frame_range=frames.sequence.frame_range if frames else None,
            frame_count=frames.sequence.count if frames else None,
            duration_s=probe.duration_s if probe else None,
            timecode=probe.timecode if probe else None,
            rotation_applied=probe.rotation if probe else None,
        ),
        stages=stages,
        sequences=sequences,
        files=files,
        cost=CostEstimate(
            total=round(sum(cost.values()), 6),
            by_stage=cost,
            basis=pricing.basis,
        ),
        generator=Generator(version=_package_version()),
    )


def manifest_json_schema() -> str:
    schema = Manifest.model_json_schema(mode="serialization")
    schema["$id"] = f"https://ingest-service.dev/schemas/manifest-{SCHEMA_VERSION}.json"
    schema["title"] = "ingest-service manifest"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _package_version() -> str:
    try:
        return version("ingest-service")
    except PackageNotFoundError:
        return "0+unknown"
