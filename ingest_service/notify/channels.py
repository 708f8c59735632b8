"""Delivery channels. Each returns a `Delivery` and never raises for a failed send."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import httpx

from ingest_service.jobs.record import Delivery
from ingest_service.notify.message import Notification
from ingest_service.notify.signing import signed_headers
from ingest_service.redact import redact

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0


class Channel(Protocol):
    def send(self, note: Notification) -> Delivery: ...


def _target(url: str) -> str:
    """The URL as it may be recorded: no credentials, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class WebhookChannel:
    """POSTs the JSON body with an HMAC signature; retries 5xx, 429 and network errors."""

    def __init__(
        self,
        url: str,
        *,
        signing_key: bytes | None,
        timeout_s: float = 10.0,
        attempts: int = 5,
        backoff_s: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self._key = signing_key
        self._timeout = timeout_s
        self._attempts = attempts
        self._backoff = backoff_s
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._sleep = sleep

    def send(self, note: Notification) -> Delivery:
        body = note.body()
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self._attempts + 1):
            headers = {"Content-Type": "application/json", "X-Ingest-Event": note.event}
            if self._key is not None:
                # Signed afresh each try so a retried delivery is not refused as stale.
                headers.update(signed_headers(self._key, body))
            try:
                response = self._client.post(self.url, content=body, headers=headers)
                status = response.status_code
                if status < 300:
                    return self._delivery(note, True, attempt, status, None)
                error = f"HTTP {status}"
                if status not in RETRY_STATUSES:
                    break
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {redact(str(exc))}"
            if attempt < self._attempts:
                delay = min(MAX_BACKOFF_S, self._backoff * 2 ** (attempt - 1))
                self._sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 - jitter only
        return self._delivery(note, False, attempt, status, error)

    def _delivery(
        self, note: Notification, ok: bool, attempts: int, status: int | None, error: str | None
    ) -> Delivery:
        return Delivery(
            channel="webhook",
            target=_target(self.url),
            event=note.event,
            ok=ok,
            attempts=attempts,
            status=status,
            error=error,
        )


class SnsChannel:
    """Publishes to an SNS topic (botocore retries transient errors itself)."""

    def __init__(self, topic_arn: str, client: SNSClient) -> None:
        self.topic_arn = topic_arn
        self._client = client

    def send(self, note: Notification) -> Delivery:
        subject = f"ingest {note.event}: {note.shot or note.source_key}"[:100]
        try:
            self._client.publish(
                TopicArn=self.topic_arn,
                Message=note.body().decode("utf-8"),
                Subject=subject.encode("ascii", "replace").decode("ascii"),
                MessageAttributes={"event": {"DataType": "String", "StringValue": note.event}},
            )
        except Exception as exc:  # noqa: BLE001 - a failed notification must not fail the job
            return Delivery(
                channel="sns",
                target=self.topic_arn,
                event=note.event,
                ok=False,
                attempts=1,
                error=redact(f"{type(exc).__name__}: {exc}"),
            )
        return Delivery(channel="sns", target=self.topic_arn, event=note.event, ok=True, attempts=1)


class LogChannel:
    """Appends one JSON line per notification to a local file (the no-network default)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, note: Notification) -> Delivery:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(json.loads(note.body()), ensure_ascii=False)
            with self.path.open("a", encoding="utf-8") as log:
                log.write(line + "\n")
        except OSError as exc:
            return Delivery(
                channel="log",
                target=str(self.path),
                event=note.event,
                ok=False,
                attempts=1,
                error=str(exc),
            )
        return Delivery(channel="log", target=str(self.path), event=note.event, ok=True, attempts=1)


class Notifier:
    def __init__(self, channels: list[Channel]) -> None:
        self.channels = channels

    def send(self, note: Notification) -> list[Delivery]:
        return [
            channel.send(note).model_copy(update={"attempt": note.attempt})
            for channel in self.channels
        ]
