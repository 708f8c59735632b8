"""Running one stage of a job, or one chunk of a model stage, in another process: what
the stage functions and GPU workers on Modal do. They are handed the job's record as it
stood when the stage began (a few kilobytes of JSON, never footage), so they neither
read it again nor look at their own environment for the job's options."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_service.errors import JobStateError, StageUnknownError
from ingest_service.jobs.record import JobRecord
from ingest_service.services import Services
from ingest_service.stages.base import Fanout, StageContext, StageOutput
from ingest_service.stages.table import STAGES

if TYPE_CHECKING:
    from ingest_service.depth.neural import ChunkFits
    from ingest_service.masks.sam3 import ChunkTracks


@contextmanager
def _context(
    services: Services, record: JobRecord, label: str, fanout: Fanout | None = None
) -> Iterator[StageContext]:
    if not record.output_prefix:
        raise JobStateError(f"job {record.job_id} has no output folder yet", state=record.state)
    with tempfile.TemporaryDirectory(prefix=f"ingest-{label}-") as scratch:
        yield StageContext(
            job=record,
            store=services.store,
            settings=services.settings.for_job(record.options),
            output_prefix=record.output_prefix,
            scratch=Path(scratch),
            check=lambda: None,  # the orchestrator's heartbeat watches the lease
            fanout=fanout,
        )


def run_stage_for_job(
    services: Services, record: JobRecord, stage: str, *, fanout: Fanout | None = None
) -> StageOutput:
    """Run one stage of `record` here, from the record alone.

    The orchestrator holds the job's lease and records the result; this side only writes
    the stage's outputs (to keys that a re-run overwrites).
    """
    specs = {spec.name: spec for spec in STAGES}
    if stage not in specs:
        raise StageUnknownError(f"unknown stage {stage!r}")
    with _context(services, record, stage, fanout) as ctx:
        return specs[stage].run(ctx)


def depth_chunk_for_job(services: Services, record: JobRecord, start: int, end: int) -> ChunkFits:
    """Depth predictions for frames [start, end) into the job's work prefix, and fits."""
    from ingest_service.depth.neural import bucket_predictions, load_model, predict_chunk
    from ingest_service.stages.depth import depth_inputs

    with _context(services, record, "depth") as ctx:
        settings = ctx.settings
        inputs = depth_inputs(ctx)
        model = load_model(settings)
        predictions = bucket_predictions(ctx.store, settings, record.job_id)
        return predict_chunk(inputs, model, start, end, settings.model_batch_size, predictions)


def mask_chunk_for_job(
    services: Services, record: JobRecord, start: int, end: int, first_written: int
) -> ChunkTracks:
    """SAM 3 over frames [start, end), writing masks from `first_written` on."""
    from ingest_service.stages.masks import sam3_chunk

    with _context(services, record, "masks") as ctx:
        return sam3_chunk(ctx, (start, end, first_written))
