"""Running one stage of a job given only its id: what a stage function on Modal does."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ingest_service.errors import JobStateError, StageUnknownError
from ingest_service.services import Services
from ingest_service.stages.base import StageContext, StageOutput
from ingest_service.stages.table import STAGES


def run_stage_for_job(services: Services, job_id: str, stage: str) -> StageOutput:
    """Rebuild the stage's context from the job record and run it here.

    The orchestrator holds the job's lease and records the result; this side only reads
    the record and writes the stage's outputs (to keys that a re-run overwrites).
    """
    specs = {spec.name: spec for spec in STAGES}
    if stage not in specs:
        raise StageUnknownError(f"unknown stage {stage!r}")
    record = services.ledger.get(job_id)
    if not record.output_prefix:
        raise JobStateError(f"job {job_id} has no output folder yet", state=record.state)
    with tempfile.TemporaryDirectory(prefix=f"ingest-{stage}-") as scratch:
        ctx = StageContext(
            job=record,
            store=services.store,
            settings=services.settings,
            output_prefix=record.output_prefix,
            scratch=Path(scratch),
            check=lambda: None,  # the orchestrator's heartbeat watches the lease
        )
        return specs[stage].run(ctx)
