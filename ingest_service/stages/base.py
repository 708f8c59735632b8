"""What a stage is given and what it gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from ingest_service.errors import StageDependencyError
from ingest_service.jobs.options import JobOptions
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.results import (
    CameraResult,
    DepthResult,
    FramesResult,
    MasksResult,
    ProbeResult,
)
from ingest_service.progress import NullProgress, Progress
from ingest_service.settings import Settings
from storage import ObjectStore

R = TypeVar("R", bound=BaseModel)


class Fanout(Protocol):
    """Runs a model stage's chunks elsewhere, in parallel (GPU functions on Modal).

    Chunks are named by the job id and frame ranges, never by data: each worker reads
    its frames from the bucket and leaves its results under the job's work prefix.
    """

    def depth_chunks(self, job_id: str, ranges: list[tuple[int, int]]) -> list[Any]: ...

    def mask_chunks(self, job_id: str, chunks: list[tuple[int, int, int]]) -> list[Any]: ...


@dataclass
class StageContext:
    job: JobRecord
    store: ObjectStore
    settings: Settings
    output_prefix: str
    scratch: Path
    check: Callable[[], None]
    progress: Progress = field(default_factory=NullProgress)
    fanout: Fanout | None = None  # None: model chunks run here, one after another

    def result(self, name: str, kind: type[R]) -> R:
        result = self.job.result(name, kind)
        if result is None:
            raise StageDependencyError(f"stage needs the {name} stage's result, which is missing")
        return result

    @property
    def source_name(self) -> str:
        return self.job.source.key.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class StageOutput:
    result: ProbeResult | FramesResult | CameraResult | DepthResult | MasksResult
    backend: str
    parameters: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    cpu_cores: int = 1
    gpu_seconds: float | None = None  # GPU time across workers, if a GPU did the work
    memory_gib: float = 0.0  # memory reserved for the stage where it is billed (Modal)


class StageRunner(Protocol):
    """Where a stage's work happens: here (the default), or in a function of its own
    (Modal), which rebuilds the context from the job id and returns the output."""

    def run(self, spec: StageSpec, ctx: StageContext) -> StageOutput: ...


class InProcess:
    def run(self, spec: StageSpec, ctx: StageContext) -> StageOutput:
        return spec.run(ctx)


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One row of the stage table.

    A `critical` stage's failure fails the job; a non-critical one is recorded as
    failed in the manifest while the other outputs are still published.
    """

    name: str
    run: Callable[[StageContext], StageOutput]
    requires: tuple[str, ...] = ()
    critical: bool = True
    # What a stage reads can depend on the job's options (a backend's inputs).
    requires_for: Callable[[JobOptions], tuple[str, ...]] | None = None

    def needs(self, options: JobOptions | None) -> tuple[str, ...]:
        if self.requires_for is not None and options is not None:
            return self.requires_for(options)
        return self.requires
