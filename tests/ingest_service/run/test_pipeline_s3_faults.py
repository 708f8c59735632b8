"""The job as a whole when S3 misbehaves: throttling is ridden out, denial is reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.states import JobState
from ingest_service.run import pipeline
from ingest_service.services import Services
from storage import ObjectNotFoundError, S3Store
from tests.conftest import make_settings
from tests.plates import Plates


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Fault:
    """Answers matching requests with an S3 error, at most `times` times."""

    def __init__(self, *, method: str, path_part: str, status: int, code: str, times: int):
        self.method, self.path_part, self.status, self.code = method, path_part, status, code
        self.left = times
        self.hits = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if request.method != self.method or self.path_part not in request.url or self.left <= 0:
            return None
        self.left -= 1
        self.hits += 1
        body = f"<Error><Code>{self.code}</Code><Message>injected</Message></Error>".encode()
        return AWSResponse(request.url, self.status, {}, _Raw(body))


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def _job(s3_store: S3Store, tmp_path: Path, plates: Plates) -> tuple[Services, str]:
    services = Services.build(make_settings(tmp_path), store=s3_store)
    ref = ref_for_local_file(s3_store, plates.h264, key="incoming/sh0040.mov")
    return services, services.ledger.claim(
        ref, services.job_options(), max_attempts=3
    ).record.job_id


def test_throttled_writes_are_retried_and_the_job_publishes(
    s3_store: S3Store, tmp_path: Path, plates: Plates
) -> None:
    services, job_id = _job(s3_store, tmp_path, plates)
    fault = Fault(method="PUT", path_part="/published/", status=503, code="SlowDown", times=4)
    s3_store.client.meta.events.register_first("before-send.s3.*", fault)
    record = pipeline.run(job_id, services)
    assert fault.hits == 4
    assert record.state is JobState.PUBLISHED
    assert record.attempt == 1


def test_access_denied_fails_the_job_clearly_without_retry(
    s3_store: S3Store, tmp_path: Path, plates: Plates
) -> None:
    services, job_id = _job(s3_store, tmp_path, plates)
    fault = Fault(
        method="PUT", path_part="/published/", status=403, code="AccessDenied", times=10_000
    )
    s3_store.client.meta.events.register_first("before-send.s3.*", fault)
    record = pipeline.run(job_id, services)
    assert record.state is JobState.FAILED
    assert record.error is not None
    assert "AccessDenied" in record.error.message
    assert "published/sh0040/v001/" in record.error.message  # says where it was refused
    assert not record.error.retryable
    assert "testing" not in record.error.message  # the (test) secret key never leaks
    with pytest.raises(ObjectNotFoundError):
        s3_store.head("published/sh0040/v001/manifest.json")
    assert s3_store.get("incoming/sh0040.mov").data == plates.h264.read_bytes()
