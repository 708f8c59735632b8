"""Wiring: the store, ledger and notifier a process uses, built from settings."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3

from ingest_service.jobs.ledger import JobLedger
from ingest_service.jobs.options import JobOptions
from ingest_service.notify.channels import Channel, LogChannel, Notifier, SnsChannel, WebhookChannel
from ingest_service.settings import Settings
from storage import ObjectStore, open_store
from storage.s3 import resolve_region


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    ledger: JobLedger
    notifier: Notifier

    @classmethod
    def build(cls, settings: Settings, *, store: ObjectStore | None = None) -> Services:
        store = store or open_store(
            settings.store, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
        )
        ledger = JobLedger(store, layout=settings.layout)
        return cls(settings, store, ledger, Notifier(notification_channels(settings, store)))

    def job_options(self) -> JobOptions:
        """What a plate without a sidecar would be claimed with now."""
        return JobOptions.from_defaults(self.settings)


def notification_channels(settings: Settings, store: ObjectStore) -> list[Channel]:
    channels: list[Channel] = []
    if settings.notify_url is not None:
        key = settings.notify_signing_key
        channels.append(
            WebhookChannel(
                str(settings.notify_url),
                signing_key=key.get_secret_value().encode() if key else None,
                timeout_s=settings.notify_timeout_s,
                attempts=settings.notify_attempts,
            )
        )
    if settings.notify_sns_topic_arn:
        # The topic's own region; an ARN without one falls back as the S3 clients do.
        region = settings.notify_sns_topic_arn.split(":")[3] or resolve_region(settings.s3_region)
        channels.append(
            SnsChannel(settings.notify_sns_topic_arn, boto3.client("sns", region_name=region))
        )
    if settings.notify_log is not None or not channels:
        channels.append(LogChannel(settings.notify_log or default_log_path(settings, store)))
    return channels


def default_log_path(settings: Settings, store: ObjectStore) -> Path:
    """Beside the job records for a folder bucket; in the user's state folder otherwise."""
    beside_records = store.local_path(settings.layout.notification_log)
    if beside_records is not None:
        return beside_records
    state = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
    return state / "ingest-service" / "notifications.jsonl"


def worker_id() -> str:
    """Names a lease holder in records and errors: host, process, and a per-run tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
