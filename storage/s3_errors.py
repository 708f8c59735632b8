"""One table from botocore's errors to ours; nothing else in the code inspects boto errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from storage.errors import (
    AccessDeniedError,
    BucketNotFoundError,
    ConflictError,
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    TransientStorageError,
)

ERROR_CODES: dict[str, type[StorageError]] = {
    "NoSuchKey": ObjectNotFoundError,
    "NoSuchVersion": ObjectNotFoundError,
    "NotFound": ObjectNotFoundError,
    "404": ObjectNotFoundError,
    "NoSuchBucket": BucketNotFoundError,
    "PreconditionFailed": PreconditionFailedError,
    "412": PreconditionFailedError,
    "ConditionalRequestConflict": ConflictError,
    "OperationAborted": ConflictError,
    "409": ConflictError,
    "AccessDenied": AccessDeniedError,
    "AllAccessDisabled": AccessDeniedError,
    "InvalidAccessKeyId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "InvalidToken": AccessDeniedError,
    "403": AccessDeniedError,
    "InternalError": TransientStorageError,
    "ServiceUnavailable": TransientStorageError,
    "SlowDown": TransientStorageError,
    "RequestTimeout": TransientStorageError,
    "500": TransientStorageError,
    "502": TransientStorageError,
    "503": TransientStorageError,
    "504": TransientStorageError,
}

NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseStreamingError,
    IncompleteReadError,
)

T = TypeVar("T")


def translate(exc: BaseException, *, key: str | None, action: str) -> StorageError:
    """Our error for a boto error; the message names the action and key, never credentials."""
    where = f"{action} {key}" if key else action
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        kind = ERROR_CODES.get(code) or ERROR_CODES.get(status) or StorageError
        detail = error.get("Message") or code or status
        return kind(f"S3 {where} failed: {code or status} ({detail})", key=key)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AccessDeniedError(f"S3 {where} failed: no usable S3 credentials found", key=key)
    if isinstance(exc, NETWORK_ERRORS):
        return TransientStorageError(f"S3 {where} failed: {type(exc).__name__}", key=key)
    if isinstance(exc, BotoCoreError):
        return StorageError(f"S3 {where} failed: {type(exc).__name__}", key=key)
    return StorageError(f"S3 {where} failed: {exc}", key=key)


@contextmanager
def translated(action: str, key: str | None = None) -> Iterator[None]:
    """Run a boto call and re-raise anything it throws as one of our errors."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, key=key, action=action) from exc


def call(action: str, key: str | None, fn: Callable[[], T]) -> T:
    with translated(action, key):
        return fn()
