"""Read-modify-write of one small object: the only compare-and-swap loop in the code.

The object is read with its ETag, a pure change function says what it should become,
and the result is written with `If-Match` (or `If-None-Match: *` when it was absent).
A lost race or a transient failure reads again and asks the change function again,
after a bounded, jittered backoff. When every round is lost, `UpdateGaveUpError` says
so: a change is never dropped silently.

A write can land while its answer is lost: the S3 client then retries it into its own
condition (412), or gives up with a transient error. Each write carries a fresh token
that S3 keeps with the object, and a failed write is read back at once: if the object
holds our token, the write landed and the change is not applied a second time. (A writer
that overwrites ours between the lost answer and that read is not told apart; the window
is one round trip.)
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Never, TypeVar

from storage.base import ObjectStore
from storage.errors import (
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    UpdateGaveUpError,
)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a value is stored: bytes in, bytes out."""

    load: Callable[[bytes], T]
    dump: Callable[[T], bytes]
    content_type: str = "application/json"


@dataclass(frozen=True)
class Versioned(Generic[T_co]):
    """A value as stored (None: no object), its ETag, and whether this update wrote it."""

    value: T_co | None
    etag: str | None
    written: bool = False


ABSENT: Versioned[Never] = Versioned(None, None)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Bounded retries with full jitter: concurrent losers spread out instead of colliding."""

    attempts: int = 8
    base_s: float = 0.02
    cap_s: float = 1.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))  # noqa: S311


DEFAULT_BACKOFF = Backoff()


def read(store: ObjectStore, key: str, codec: Codec[T]) -> Versioned[T]:
    try:
        stored = store.get(key)
    except ObjectNotFoundError:
        return Versioned(None, None)
    return Versioned(codec.load(stored.data), stored.info.etag)


def _read_if_ours(store: ObjectStore, key: str, token: str) -> str | None:
    """The stored ETag when the object holds the write `token` names, else None."""
    try:
        info = store.head(key)
    except ObjectNotFoundError:
        return None
    except StorageError as exc:
        if not exc.retryable:
            raise
        return None  # unknown; taken as not ours (a lost answer and then a failed read)
    return info.etag if info.write_token == token else None


def update(
    store: ObjectStore,
    key: str,
    change: Callable[[T | None], T | None],
    codec: Codec[T],
    *,
    start: Versioned[T] | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> Versioned[T]:
    """Apply `change` to the stored value and write it back only if nothing else wrote first.

    `change` gets the current value (None when the object is absent) and returns the new
    value, or None to leave the object as it is (then the result is what is stored). It
    may raise to refuse; the error reaches the caller. `start` skips the first read: the
    version a caller already holds, or `ABSENT` to try a create straight away (a claim
    is then one conditional write).
    """
    current = start if start is not None else read(store, key, codec)
    for attempt in range(backoff.attempts):
        new = change(current.value)
        if new is None:
            return current
        token = uuid.uuid4().hex
        try:
            info = store.put(
                key,
                codec.dump(new),
                content_type=codec.content_type,
                if_none_match=current.etag is None,
                if_match=current.etag,
                write_token=token,
            )
        except (PreconditionFailedError, ObjectNotFoundError):
            pass  # another writer came first (or deleted it), or ours landed unanswered
        except StorageError as exc:
            if not exc.retryable:
                raise
        else:
            return Versioned(new, info.etag, written=True)
        landed = _read_if_ours(store, key, token)
        if landed is not None:
            return Versioned(new, landed, written=True)
        if attempt + 1 < backoff.attempts:
            time.sleep(backoff.delay(attempt))
            current = read(store, key, codec)
    raise UpdateGaveUpError(
        f"gave up updating {key} after {backoff.attempts} conflicting writes",
        key=key,
        attempts=backoff.attempts,
    )
