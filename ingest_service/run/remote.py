"""Running one stage of a job, or one chunk of a model stage, given only the job's id:
what the stage functions and GPU workers on Modal do."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_service.errors import JobStateError, StageUnknownError
from ingest_service.services import Services
from ingest_service.stages.base import Fanout, StageContext, StageOutput
from ingest_service.stages.table import STAGES

if TYPE_CHECKING:
    from ingest_service.depth.neural import ChunkFits
    from ingest_service.masks.sam3 import ChunkTracks


@contextmanager
def _context(services: Services, job_id: str, label: str,
             fanout: Fanout | None = None) -> Iterator[StageContext]:  # fmt: skip
    record = services.ledger.get(job_id)
    if not record.output_prefix:
        raise JobStateError(f"job {job_id} has no output folder yet", state=record.state)
    with tempfile.TemporaryDirectory(prefix=f"ingest-{label}-") as scratch:
        yield StageContext(
            job=record,
            store=services.store,
            settings=services.settings,
            output_prefix=record.output_prefix,
            scratch=Path(scratch),
            check=lambda: None,  # the orchestrator's heartbeat watches the lease
            fanout=fanout,
        )


def run_stage_for_job(
    services: Services, job_id: str, stage: str, *, fanout: Fanout | None = None
) -> StageOutput:
    """Rebuild the stage's context from the job record and run it here.

    The orchestrator holds the job's lease and records the result; this side only reads
    the record and writes the stage's outputs (to keys that a re-run overwrites).
    """
    specs = {spec.name: spec for spec in STAGES}
    if stage not in specs:
        raise StageUnknownError(f"unknown stage {stage!r}")
    with _context(services, job_id, stage, fanout) as ctx:
        return specs[stage].run(ctx)


def depth_chunk_for_job(services: Services, job_id: str, start: int, end: int) -> ChunkFits:
    """Depth predictions for frames [start, end) into the job's work prefix, and fits."""
    from ingest_service.depth.neural import bucket_predictions, load_model, predict_chunk
    from ingest_service.stages.depth import depth_inputs

    with _context(services, job_id, "depth") as ctx:
        settings = ctx.settings
        return predict_chunk(depth_inputs(ctx), load_model(settings), start, end,
                             settings.model_batch_size,
                             bucket_predictions(ctx.store, settings, job_id))  # fmt: skip


def mask_chunk_for_job(
    services: Services, job_id: str, start: int, end: int, first_written: int
) -> ChunkTracks:
    """SAM 3 over frames [start, end), writing masks from `first_written` on."""
    from ingest_service.stages.masks import sam3_chunk

    with _context(services, job_id, "masks") as ctx:
        return sam3_chunk(ctx, (start, end, first_written))
