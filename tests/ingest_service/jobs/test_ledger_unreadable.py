"""A job record that is not a job (bad JSON, wrong shape) is skipped, reported once, counted."""

from __future__ import annotations

import logging

import pytest

from ingest_service.errors import JobNotFoundError, JobRecordUnreadableError
from ingest_service.jobs.ledger import JobLedger
from ingest_service.metrics import METRICS
from storage import ObjectStore
from tests.ingest_service.jobs.test_ledger import OPTIONS, REF

UNREADABLE = {
    "forged": b'{"shot": "x"}',
    "broken": b"{not json",
    "binary": b"\xff\xfe\x00",
    "deep": b"[" * 5000 + b"]" * 5000,
    "list": b"[]",
}


def _unreadable_total() -> int:
    [line] = [
        line
        for line in METRICS.render().splitlines()
        if line.startswith("ingest_job_records_unreadable_total ")
    ]
    return int(line.split()[1])


def test_a_listing_skips_unreadable_records_and_reports_each_once(
    store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = JobLedger(store)
    claimed = ledger.claim(REF, OPTIONS, max_attempts=3)
    for job_id, data in UNREADABLE.items():
        store.put(ledger.key(job_id), data)
    before = _unreadable_total()
    with caplog.at_level(logging.WARNING, logger="ingest_service.jobs.ledger"):
        for _ in range(3):
            assert [r.job_id for r in ledger.list()] == [claimed.record.job_id]
    assert _unreadable_total() - before == len(UNREADABLE)
    reported = sorted(r.getMessage().split()[2] for r in caplog.records)
    assert reported == sorted(UNREADABLE)
    # Rewritten, it is another version: reported again.
    store.put(ledger.key("forged"), b'{"shot": "y"}')
    assert len(list(ledger.list())) == 1
    assert _unreadable_total() - before == len(UNREADABLE) + 1


def test_reading_or_changing_an_unreadable_record_is_a_typed_not_found(
    store: ObjectStore,
) -> None:
    ledger = JobLedger(store)
    store.put(ledger.key("forged"), b'{"shot": "x"}')
    with pytest.raises(JobRecordUnreadableError, match="cannot be read"):
        ledger.get("forged")
    with pytest.raises(JobNotFoundError):  # what every caller of get() already handles
        ledger.acquire("forged", owner="w1", lease_s=60)
    assert store.get(ledger.key("forged")).data == b'{"shot": "x"}'  # left as it was
