"""S3 failures as users meet them: 5xx retried with backoff, AccessDenied stopped at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.retries.standard import ExponentialBackoff

from storage import (
    AccessDeniedError,
    BucketNotFoundError,
    ConflictError,
    ObjectNotFoundError,
    PreconditionFailedError,
    S3Store,
    TransientStorageError,
)
from storage.s3_errors import translate


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _error(status: int, code: str) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
        f"<Message>injected {code}</Message></Error>"
    ).encode()


class FailFirst:
    """Answers the first `times` requests itself with an S3 error, then lets them through."""

    def __init__(self, times: int, status: int, code: str) -> None:
        self.times, self.status, self.code = times, status, code
        self.calls = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.calls += 1
        if self.calls <= self.times:
            return AWSResponse(request.url, self.status, {}, _Raw(_error(self.status, self.code)))
        return None


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry count is under test, not botocore's (seconds-long) backoff."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def _inject(store: S3Store, failer: FailFirst) -> FailFirst:
    store.client.meta.events.register_first("before-send.s3.*", failer)
    return failer


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "SlowDown")])
def test_server_errors_are_retried_then_succeed(s3_store: S3Store, status: int, code: str) -> None:
    s3_store.put("k.json", b"data")
    failer = _inject(s3_store, FailFirst(2, status, code))
    assert s3_store.get("k.json").data == b"data"
    assert failer.calls == 3  # two injected failures, then the real answer


def test_server_errors_give_up_after_max_attempts(s3_store: S3Store) -> None:
    failer = _inject(s3_store, FailFirst(100, 503, "SlowDown"))
    with pytest.raises(TransientStorageError) as info:
        s3_store.get("k.json")
    assert failer.calls == 6  # botocore standard mode, our total_max_attempts
    assert info.value.retryable


def test_access_denied_is_not_retried_and_says_so(s3_store: S3Store) -> None:
    failer = _inject(s3_store, FailFirst(100, 403, "AccessDenied"))
    with pytest.raises(AccessDeniedError) as info:
        s3_store.put("published/x.png", b"png")
    assert failer.calls == 1
    assert not info.value.retryable
    message = str(info.value)
    assert "AccessDenied" in message
    assert "put published/x.png" in message
    assert "testing" not in message  # no credential in the words


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("NoSuchKey", 404, ObjectNotFoundError),
        ("404", 404, ObjectNotFoundError),
        ("NoSuchBucket", 404, BucketNotFoundError),
        ("PreconditionFailed", 412, PreconditionFailedError),
        ("ConditionalRequestConflict", 409, ConflictError),
        ("InvalidAccessKeyId", 403, AccessDeniedError),
        ("SlowDown", 503, TransientStorageError),
        ("WeirdNewCode", 500, TransientStorageError),
    ],
)
def test_error_table(code: str, status: int, kind: type[Exception]) -> None:
    exc = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )
    assert type(translate(exc, key="k", action="get")) is kind


def test_network_errors_are_transient() -> None:
    exc = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert isinstance(translate(exc, key=None, action="list"), TransientStorageError)


def test_missing_bucket_is_named(s3_store: S3Store) -> None:
    other = S3Store("no-such-bucket-here", client=s3_store.client)
    with pytest.raises(BucketNotFoundError):
        other.put("k", b"x")
