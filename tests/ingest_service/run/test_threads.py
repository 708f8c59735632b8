from __future__ import annotations

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.states import JobState
from ingest_service.run.intake import claim_plate
from ingest_service.run.threads import ThreadDispatcher
from ingest_service.services import Services
from tests.plates import Plates


def test_jobs_run_in_the_background_once(services: Services, plates: Plates) -> None:
    ref = ref_for_local_file(services.store, plates.h264, key="incoming/a.mov")
    job_id = claim_plate(services, ref).record.job_id
    dispatcher = ThreadDispatcher(services, workers=1)
    assert dispatcher.submit(job_id)
    assert not dispatcher.submit(job_id)  # already queued here
    assert dispatcher.wait_idle(timeout=60)
    assert services.ledger.get(job_id).state is JobState.PUBLISHED
    assert dispatcher.submit(job_id)  # finished jobs are skipped by the ledger, quietly
    assert dispatcher.wait_idle(timeout=60)
    dispatcher.shutdown()
    assert not dispatcher.submit(job_id)
