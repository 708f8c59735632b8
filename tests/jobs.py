"""Running one plate through chosen stages on a folder bucket, for stage tests."""

from __future__ import annotations

from pathlib import Path

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.record import JobRecord
from ingest_service.run import pipeline
from ingest_service.run.intake import claim_plate
from ingest_service.services import Services
from storage import LocalStore
from tests.conftest import make_settings


def run_plate(
    tmp_path: Path, plate: Path, stages: list[str], **settings: object
) -> tuple[Services, JobRecord]:
    services = Services.build(
        make_settings(tmp_path, stages=stages, **settings), store=LocalStore(tmp_path / "bucket")
    )
    ref = ref_for_local_file(services.store, plate, key=f"incoming/{plate.name}")
    return services, pipeline.run(claim_plate(services, ref).record.job_id, services)
