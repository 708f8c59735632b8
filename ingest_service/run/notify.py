"""Telling the world a job finished, and recording that it was told: one path for the
pipeline that ran the job and for the poller that finds a job whose worker died first."""

from __future__ import annotations

import logging
from datetime import timedelta

from ingest_service.jobs.record import JobRecord
from ingest_service.notify.channels import MAX_BACKOFF_S
from ingest_service.notify.message import Notification
from ingest_service.services import Services
from ingest_service.settings import Settings
from storage import StorageError

log = logging.getLogger(__name__)


def notify_finished(services: Services, record: JobRecord) -> JobRecord:
    """Send the outcome of `record` and record the deliveries; returns the record as stored.

    The job leaves the unfinished index only once its deliveries are recorded: if that
    write fails, the poller still finds the job listed and notifies again (at least once).
    """
    deliveries = services.notifier.send(Notification.for_job(record))
    for delivery in deliveries:
        if not delivery.ok:
            log.warning(
                "job %s: %s notification to %s failed: %s",
                record.job_id,
                delivery.channel,
                delivery.target,
                delivery.error,
            )
    try:
        record = services.ledger.append_deliveries(record.job_id, deliveries)
    except StorageError as exc:
        log.warning("job %s: could not record notification deliveries: %s", record.job_id, exc)
        return record
    if record.finished:
        services.ledger.mark_finished(record.job_id)
    return record


def notify_grace(settings: Settings) -> timedelta:
    """How long the worker that finished a job has to record its notification before
    the poller takes it for dead and notifies in its place.

    A lease's length, as it had for each renewal while it ran; and at least the
    webhook's worst case (every attempt timing out, each backoff at its cap), so that a
    slow receiver is not what makes the poller send a second notification.
    """
    attempts = settings.notify_attempts
    webhook_s = attempts * settings.notify_timeout_s + (attempts - 1) * MAX_BACKOFF_S
    return timedelta(seconds=max(settings.lease_seconds, webhook_s))
