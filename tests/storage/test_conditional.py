"""The one read-modify-write helper: no lost update, bounded retries, a typed give-up."""

from __future__ import annotations

import json

import pytest

from storage import (
    ABSENT,
    AccessDeniedError,
    Backoff,
    Codec,
    LocalStore,
    ObjectStore,
    TransientStorageError,
    UpdateGaveUpError,
    conditional,
)
from tests.race import race

COUNTER = Codec[int](lambda data: int(json.loads(data)), lambda n: json.dumps(n).encode())
QUICK = Backoff(attempts=4, base_s=0.0, cap_s=0.0)


def test_concurrent_increments_all_land(racing_store: LocalStore) -> None:
    def bump(_: int) -> None:
        for _ in range(5):
            conditional.update(
                racing_store, "n.json", lambda n: (n or 0) + 1, COUNTER, backoff=Backoff(64)
            )

    race(8, bump)
    assert conditional.read(racing_store, "n.json", COUNTER).value == 40


def test_create_first_is_one_write_and_a_second_creator_sees_the_first(
    store: ObjectStore,
) -> None:
    first = conditional.update(
        store, "c.json", lambda n: 1 if n is None else None, COUNTER, start=ABSENT
    )
    second = conditional.update(
        store, "c.json", lambda n: 2 if n is None else None, COUNTER, start=ABSENT
    )
    assert (first.written, first.value) == (True, 1)
    assert (second.written, second.value) == (False, 1)
    assert second.etag == store.head("c.json").etag


def test_a_change_that_keeps_the_value_writes_nothing(store: ObjectStore) -> None:
    conditional.update(store, "k.json", lambda n: 7, COUNTER)
    etag = store.head("k.json").etag
    kept = conditional.update(store, "k.json", lambda n: None, COUNTER)
    assert (kept.value, kept.etag, kept.written) == (7, etag, False)


def test_losing_every_round_raises_instead_of_dropping_the_change(store: ObjectStore) -> None:
    conditional.update(store, "k.json", lambda n: 0, COUNTER)
    rounds: list[int] = []

    def always_overtaken(n: int | None) -> int:
        rounds.append(1)
        # Someone else writes between our read and our write (new content: a new ETag).
        store.put("k.json", str(100 * len(rounds)).encode())
        return (n or 0) + 1

    with pytest.raises(UpdateGaveUpError, match=r"k\.json") as info:
        conditional.update(store, "k.json", always_overtaken, COUNTER, backoff=QUICK)
    assert info.value.retryable and info.value.attempts == len(rounds) == 4


class Flaky:
    """A store whose first writes fail with a given error."""

    def __init__(self, store: ObjectStore, error: Exception, failures: int) -> None:
        self.store, self.error, self.failures = store, error, failures

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def put(self, *args: object, **kwargs: object) -> object:
        if self.failures:
            self.failures -= 1
            raise self.error
        return self.store.put(*args, **kwargs)  # type: ignore[arg-type]


def test_transient_errors_are_retried_others_are_not(store: ObjectStore) -> None:
    flaky = Flaky(store, TransientStorageError("503"), failures=2)
    done = conditional.update(flaky, "t.json", lambda n: 1, COUNTER, backoff=QUICK)  # type: ignore[arg-type]
    assert done.written and conditional.read(store, "t.json", COUNTER).value == 1
    denied = Flaky(store, AccessDeniedError("no"), failures=1)
    with pytest.raises(AccessDeniedError):
        conditional.update(denied, "t.json", lambda n: 2, COUNTER, backoff=QUICK)  # type: ignore[arg-type]
