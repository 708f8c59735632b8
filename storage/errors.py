"""Errors raised by object stores, whatever the backend."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error an object store raises."""

    retryable: bool = False

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class ObjectNotFoundError(StorageError):
    """The key (or the requested version of it) does not exist."""


class BucketNotFoundError(StorageError):
    """The bucket or store root does not exist."""


class PreconditionFailedError(StorageError):
    """A conditional request did not hold: the object exists, or its etag changed."""


class ConflictError(StorageError):
    """A concurrent conditional write was in flight; the request may be retried."""

    retryable = True


class AccessDeniedError(StorageError):
    """The credentials are missing, wrong, or not allowed to do this."""


class TransientStorageError(StorageError):
    """The store failed in a way that may succeed on retry (5xx, throttling, network)."""

    retryable = True


class UnsupportedError(StorageError):
    """This store cannot do that (the contract's "not supported" answer)."""


class InvalidKeyError(StorageError):
    """The key cannot be stored safely by this backend."""


class UpdateGaveUpError(StorageError):
    """A conditional update lost every round to concurrent writers; nothing was written."""

    retryable = True

    def __init__(self, message: str, *, key: str, attempts: int) -> None:
        super().__init__(message, key=key)
        self.attempts = attempts
