"""A job's stage time is bounded over all its attempts (INGEST_MAX_JOB_SECONDS), and a job
stopped by it fails for good, saying what it spent."""

from __future__ import annotations

import pytest

from ingest_service.jobs.states import JobState
from ingest_service.run import pipeline
from ingest_service.services import Services
from tests.ingest_service.run.test_pipeline import crashed_in_frames, submit
from tests.plates import Plates


def test_no_stage_starts_once_the_budget_is_spent(services: Services, plates: Plates) -> None:
    services.settings.max_job_seconds = 1e-6  # the first stage alone uses it up
    record = pipeline.run(submit(services, plates.h264), services)

    assert record.state is JobState.FAILED and record.error is not None
    assert record.error.type == "JobBudgetExceededError"
    assert not record.error.retryable and not record.retry_allowed
    assert list(record.stages) == ["probe"]
    assert record.spent_s == pytest.approx(record.stages["probe"].duration_s)
    assert f"used {record.spent_s:.0f} s of stage time over 1 attempt" in record.error.message
    assert "INGEST_MAX_JOB_SECONDS" in record.error.message


def test_the_budget_counts_every_attempt_and_failed_stages_too(
    services: Services, plates: Plates
) -> None:
    first = crashed_in_frames(services, plates)
    assert first.state is JobState.FAILED and first.retry_allowed
    # The failed frames stage's time is spent too, beyond the probe's.
    assert first.spent_s > first.stages["probe"].duration_s

    services.settings.max_job_seconds = first.spent_s
    second = pipeline.run(first.job_id, services)
    assert second.state is JobState.FAILED and second.error is not None
    assert second.error.type == "JobBudgetExceededError"
    assert second.attempt == 2 and second.spent_s == first.spent_s
    assert "over 2 attempt" in second.error.message
