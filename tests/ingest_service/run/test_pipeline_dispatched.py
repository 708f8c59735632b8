"""A dispatched run under at-least-once dispatch: duplicate and late calls are quiet no-ops."""

from __future__ import annotations

import logging

import pytest

from ingest_service.jobs.states import JobState
from ingest_service.run import pipeline
from ingest_service.services import Services
from tests.ingest_service.run.test_pipeline import submit
from tests.plates import Plates


def test_a_call_for_a_job_running_elsewhere_returns_quietly(
    services: Services, plates: Plates, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = submit(services, plates.h264)
    services.ledger.acquire(job_id, owner="other-container", lease_s=600)
    with caplog.at_level(logging.INFO, logger=pipeline.__name__):
        record = pipeline.run_dispatched(job_id, services)
    assert record.state is JobState.RUNNING
    assert record.lease is not None and record.lease.owner == "other-container"
    assert record.stages == {}
    assert "not run by this call" in caplog.text and "other-container" in caplog.text


def test_a_late_call_for_a_finished_job_returns_it_unchanged(
    services: Services, plates: Plates, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = submit(services, plates.h264)
    done = pipeline.run(job_id, services)
    assert done.state is JobState.PUBLISHED
    with caplog.at_level(logging.INFO, logger=pipeline.__name__):
        again = pipeline.run_dispatched(job_id, services)
    assert again == done
    assert "already published" in caplog.text
