"""Exactly one job per upload; leases, takeover after a crash, retries, giving up."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest

from ingest_service.errors import JobLeaseHeldError, JobLeaseLostError, JobStateError
from ingest_service.jobs.handle import JobHandle
from ingest_service.jobs.ledger import JobLedger
from ingest_service.jobs.options import FrameFormat
from ingest_service.jobs.record import ErrorInfo, JobOptions, JobRecord
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState
from storage import ObjectStore
from tests.clock import Clock
from tests.race import race

OPTIONS = JobOptions(
    stages=["probe"],
    frame_format=FrameFormat.PNG,
    first_frame=1,
    png_compression=3,
    jpeg_quality=95,
    thumbnail_width=64,
)
REF = ObjectRef(bucket="b", key="incoming/sh0040.mov", etag="abc", size=100)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(store: ObjectStore, clock: Clock) -> JobLedger:
    return JobLedger(store, clock=clock)


@pytest.fixture
def racing_ledger(racing_store: ObjectStore, clock: Clock) -> JobLedger:
    return JobLedger(racing_store, clock=clock)


def test_first_claim_wins_and_duplicates_see_the_job(ledger: JobLedger) -> None:
    first = ledger.claim(REF, OPTIONS, max_attempts=3)
    again = ledger.claim(REF, OPTIONS, max_attempts=3)
    assert first.claimed and not again.claimed
    assert again.record.job_id == first.record.job_id
    assert again.record.state is JobState.CLAIMED
    assert [r.job_id for r in ledger.list()] == [first.record.job_id]


def test_concurrent_claimers_of_one_object_exactly_one_wins(racing_ledger: JobLedger) -> None:
    results = race(10, lambda n: racing_ledger.claim(REF, OPTIONS, max_attempts=3).claimed)
    assert sorted(results) == [False] * 9 + [True]


def test_concurrent_acquirers_exactly_one_runs(racing_ledger: JobLedger) -> None:
    ledger = racing_ledger
    job_id = ledger.claim(REF, OPTIONS, max_attempts=3).record.job_id
    owners: list[str] = []

    def acquire(n: int) -> None:
        with contextlib.suppress(JobLeaseHeldError):
            owners.append(ledger.acquire(job_id, owner=f"w{n}", lease_s=60).owner)

    race(6, acquire)
    assert len(owners) == 1
    record = ledger.get(job_id)
    assert record.lease is not None and record.lease.owner == owners[0]
    assert record.attempt == 1


def test_live_lease_blocks_others_expired_lease_is_taken_over(
    ledger: JobLedger, clock: Clock
) -> None:
    job_id = ledger.claim(REF, OPTIONS, max_attempts=3).record.job_id
    crashed = ledger.acquire(job_id, owner="crashed-worker", lease_s=60)
    with pytest.raises(JobLeaseHeldError, match="crashed-worker"):
        ledger.acquire(job_id, owner="second", lease_s=60)
    clock.advance(61)
    second = ledger.acquire(job_id, owner="second", lease_s=60)
    assert second.record.attempt == 2
    # The old worker wakes up: its next write must fail, not clobber the new owner.
    with pytest.raises(JobLeaseLostError):
        crashed.renew()
    with pytest.raises(JobLeaseLostError):
        crashed.check()
    assert ledger.get(job_id).lease.owner == "second"  # type: ignore[union-attr]


def test_worker_that_keeps_dying_is_given_up_on(ledger: JobLedger, clock: Clock) -> None:
    job_id = ledger.claim(REF, OPTIONS, max_attempts=2).record.job_id
    for n in range(2):
        ledger.acquire(job_id, owner=f"w{n}", lease_s=10)
        clock.advance(11)
    with pytest.raises(JobStateError, match="lease 2 times"):
        ledger.acquire(job_id, owner="w3", lease_s=10)
    record = ledger.get(job_id)
    assert record.state is JobState.FAILED
    assert record.error is not None and not record.error.retryable


def _fail(handle: JobHandle, *, retryable: bool) -> None:
    def failed(record: JobRecord) -> None:
        record.state = JobState.FAILED
        record.error = ErrorInfo(type="X", message="boom", retryable=retryable)

    handle.update(failed)


def test_failed_retryable_job_is_retried_until_max_attempts(ledger: JobLedger) -> None:
    job_id = ledger.claim(REF, OPTIONS, max_attempts=2).record.job_id
    for attempt in (1, 2):
        handle = ledger.acquire(job_id, owner="w", lease_s=60)
        assert handle.record.attempt == attempt
        _fail(handle, retryable=True)
    with pytest.raises(JobStateError, match="attempts exhausted"):
        ledger.acquire(job_id, owner="w", lease_s=60)


def test_non_retryable_failure_is_final(ledger: JobLedger) -> None:
    job_id = ledger.claim(REF, OPTIONS, max_attempts=5).record.job_id
    _fail(ledger.acquire(job_id, owner="w", lease_s=60), retryable=False)
    with pytest.raises(JobStateError, match="not retryable"):
        ledger.acquire(job_id, owner="w", lease_s=60)


def _published(ledger: JobLedger) -> JobHandle:
    handle = ledger.acquire(
        ledger.claim(REF, OPTIONS, max_attempts=3).record.job_id, owner="w", lease_s=60
    )
    handle.update(lambda r: setattr(r, "state", JobState.PUBLISHED))
    return handle


def test_published_job_is_never_run_again(ledger: JobLedger) -> None:
    job_id = _published(ledger).job_id
    assert ledger.get(job_id).lease is None
    with pytest.raises(JobStateError, match="already published"):
        ledger.acquire(job_id, owner="w2", lease_s=60)


def test_illegal_transition_is_refused(ledger: JobLedger) -> None:
    handle = _published(ledger)
    with pytest.raises(JobStateError):
        handle.update(lambda r: setattr(r, "state", JobState.RUNNING))


def test_heartbeat_renews_the_lease(ledger: JobLedger, clock: Clock) -> None:
    from ingest_service.jobs.handle import Heartbeat

    job_id = ledger.claim(REF, OPTIONS, max_attempts=3).record.job_id
    handle = ledger.acquire(job_id, owner="w", lease_s=60)
    before = ledger.get(job_id).lease.until  # type: ignore[union-attr]
    clock.advance(30)
    with Heartbeat(handle, interval_s=0.01):
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while ledger.get(job_id).lease.until == before and datetime.now(UTC) < deadline:  # type: ignore[union-attr]
            threading.Event().wait(0.01)
    assert ledger.get(job_id).lease.until == before + timedelta(seconds=30)  # type: ignore[union-attr]


def test_unfinished_jobs_are_listed_without_reading_records(ledger: JobLedger) -> None:
    a = ledger.claim(REF, OPTIONS, max_attempts=3).record.job_id
    b = ledger.claim(REF.model_copy(update={"etag": "def"}), OPTIONS, max_attempts=3).record.job_id
    c = ledger.claim(REF.model_copy(update={"etag": "0ff"}), OPTIONS, max_attempts=3).record.job_id
    assert sorted(ledger.unfinished()) == sorted([a, b, c])
    assert sorted(ledger.ids()) == sorted([a, b, c])
    ledger.acquire(a, owner="w", lease_s=60).update(
        lambda r: setattr(r, "state", JobState.PUBLISHED)
    )
    _fail(ledger.acquire(b, owner="w", lease_s=60), retryable=False)
    _fail(ledger.acquire(c, owner="w", lease_s=60), retryable=True)
    # Finished jobs stay listed until their notification is out (then the pipeline or
    # the poller marks them finished), so a crash in between still notifies.
    assert sorted(ledger.unfinished()) == sorted([a, b, c])
    assert [ledger.get(j).finished for j in (a, b, c)] == [True, True, False]
    ledger.mark_finished(a)
    ledger.mark_finished(b)
    assert list(ledger.unfinished()) == [c]


def test_a_handed_back_job_is_resumed_without_using_an_attempt(
    ledger: JobLedger, clock: Clock
) -> None:
    job_id = ledger.claim(REF, OPTIONS, max_attempts=1).record.job_id
    handle = ledger.acquire(job_id, owner="shutting-down", lease_s=600)
    handle.release()
    with pytest.raises(JobLeaseLostError):
        handle.renew()
    successor = ledger.acquire(job_id, owner="next-start", lease_s=600)  # no wait for expiry
    assert successor.record.attempt == 1


def test_an_operator_can_give_a_failed_job_one_more_attempt(ledger: JobLedger) -> None:
    job_id = ledger.claim(REF, OPTIONS, max_attempts=1).record.job_id
    _fail(ledger.acquire(job_id, owner="w", lease_s=60), retryable=False)
    ledger.mark_finished(job_id)
    with pytest.raises(JobStateError):
        ledger.acquire(job_id, owner="w", lease_s=60)
    retried = ledger.allow_retry(job_id)
    assert retried.retry_allowed
    assert job_id in set(ledger.unfinished())
    assert ledger.acquire(job_id, owner="w", lease_s=60).record.attempt == 2
    with pytest.raises(JobStateError, match="not failed"):
        ledger.allow_retry(job_id)


def test_the_index_lists_jobs_newest_first_without_reading_them(
    ledger: JobLedger, clock: Clock
) -> None:
    ids = []
    for n in range(3):
        ref = REF.model_copy(update={"key": f"incoming/sh{n}.mov", "etag": f"e{n}"})
        ids.append(ledger.claim(ref, OPTIONS, max_attempts=3).record.job_id)
        clock.advance(1.5)
    ledger.claim(
        REF.model_copy(update={"key": "incoming/sh0.mov", "etag": "e0"}), OPTIONS, max_attempts=3
    )  # a duplicate adds nothing
    assert list(ledger.newest()) == ids[::-1]


def test_jobs_the_index_missed_are_added_back(ledger: JobLedger, clock: Clock) -> None:
    first = ledger.claim(REF, OPTIONS, max_attempts=3).record
    clock.advance(5)
    second = ledger.claim(REF.model_copy(update={"etag": "other"}), OPTIONS, max_attempts=3).record
    # A claimer that died between writing the record and its index entry:
    for info in list(ledger.store.list(ledger.layout.index)):
        if info.key.endswith(first.job_id):
            ledger.store.delete(info.key)
    assert list(ledger.newest()) == [second.job_id]
    assert ledger.ensure_index() == 1
    assert list(ledger.newest()) == [second.job_id, first.job_id]
    assert ledger.ensure_index() == 0


def test_concurrent_delivery_records_are_all_kept(racing_ledger: JobLedger) -> None:
    ledger = racing_ledger
    from ingest_service.jobs.record import Delivery

    job_id = ledger.claim(REF, OPTIONS, max_attempts=3).record.job_id

    def append(n: int) -> None:
        delivery = Delivery(
            channel="log", target=f"t{n}", event="job.published", ok=True, attempts=1
        )
        ledger.append_deliveries(job_id, [delivery])

    race(6, append)
    assert sorted(d.target for d in ledger.get(job_id).deliveries) == [f"t{n}" for n in range(6)]
