"""How long a finished job's worker has to record its notification before the poller
sends one in its place."""

from __future__ import annotations

import random
from pathlib import Path

import httpx

from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState
from ingest_service.notify.channels import WebhookChannel
from ingest_service.notify.message import Notification
from ingest_service.run.notify import notify_grace
from tests.conftest import make_settings
from tests.job_records import job_record


def _unanswered(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


def test_the_grace_outlasts_the_slowest_webhook_send(tmp_path: Path) -> None:
    """Every attempt times out and every backoff is taken: the worker is still sending,
    and the poller must not take it for dead."""
    settings = make_settings(tmp_path, lease_seconds=5, notify_attempts=12, notify_timeout_s=10)
    slept: list[float] = []
    random.seed(7)  # the backoff's jitter
    channel = WebhookChannel(
        "https://hooks.example.com/ingest",
        signing_key=None,
        timeout_s=settings.notify_timeout_s,
        attempts=settings.notify_attempts,
        client=httpx.Client(transport=httpx.MockTransport(_unanswered)),
        sleep=slept.append,
    )
    record = job_record(
        "sh0040-0123456789abcdef",
        ObjectRef(bucket="plates", key="incoming/sh0040.mov", etag="e", size=1),
        ["probe"],
        state=JobState.PUBLISHED,
    )
    delivery = channel.send(Notification.for_job(record))
    assert not delivery.ok and delivery.attempts == settings.notify_attempts
    sending_s = delivery.attempts * settings.notify_timeout_s + sum(slept)
    assert sending_s > settings.lease_seconds
    assert notify_grace(settings).total_seconds() >= sending_s


def test_the_grace_is_a_lease_when_that_is_longer(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lease_seconds=900)
    assert notify_grace(settings).total_seconds() == settings.lease_seconds
