"""Errors raised by object stores, whatever the backend."""

from __future__ import annotations

from typing import Any


class PicklableError(Exception):
    """An error that keeps its keyword fields through pickle: a Modal function's errors
    reach its caller pickled, and one that cannot be rebuilt arrives as an unknown error."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce rebuilds with cls(*args), which drops keyword-only fields.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[BaseException], args: tuple[object, ...]) -> BaseException:
    return cls.__new__(cls, *args)  # BaseException.__new__ sets args; pickle sets the rest


class StorageError(PicklableError):
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
