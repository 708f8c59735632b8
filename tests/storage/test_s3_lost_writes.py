"""A conditional write that landed, but whose answer was lost, counts once and as written.

botocore retries the unanswered PUT, and the retry fails the write's own condition (412).
Equal values are no proof that a write was ours (two racing increments compute the same
number), so each write carries a token that S3 keeps with the object.
"""

from __future__ import annotations

import json

import pytest
from botocore.retries.standard import ExponentialBackoff

from storage import S3Store
from storage.conditional import ABSENT, Codec, update
from tests.reliability.faulty_s3 import Fault, FaultyS3

BUCKET = "lost-answers"
KEY = ".ingest/jobs/sh0040.json"
COUNTER: Codec[dict[str, int]] = Codec(lambda b: json.loads(b), lambda v: json.dumps(v).encode())


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def store(faulty: FaultyS3) -> S3Store:
    store = faulty.store(BUCKET)
    store.put(KEY, COUNTER.dump({"attempt": 0}))
    return store


def _bump(value: dict[str, int] | None) -> dict[str, int]:
    assert value is not None
    return {"attempt": value["attempt"] + 1}


def test_an_update_whose_answer_was_lost_is_applied_once(store: S3Store, faulty: FaultyS3) -> None:
    faulty.force(Fault.DROP_AFTER, method="PUT", path_contains=KEY)
    result = update(store, KEY, _bump, COUNTER)
    assert faulty.injected[Fault.DROP_AFTER] == 1
    assert result.written
    assert COUNTER.load(store.get(KEY).data) == {"attempt": 1}


def test_a_create_whose_answer_was_lost_is_still_the_creators(
    store: S3Store, faulty: FaultyS3
) -> None:
    store.delete(KEY)
    faulty.force(Fault.DROP_AFTER, method="PUT", path_contains=KEY)
    mine = {"attempt": 7}
    result = update(store, KEY, lambda old: mine if old is None else None, COUNTER, start=ABSENT)
    assert faulty.injected[Fault.DROP_AFTER] == 1
    assert result.written and result.value == mine
