"""The poller: the backstop for lost events, stalled workers and retries."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers.admission import Gate
from handlers.poller import Poller
from ingest_service.jobs.record import ErrorInfo, JobRecord, utcnow
from ingest_service.jobs.states import JobState
from ingest_service.services import Services
from storage import S3Store
from tests.conftest import make_settings
from tests.handlers.conftest import RecordingDispatcher


def _poller(services: Services, dispatcher: RecordingDispatcher, **clock: Any) -> Poller:
    return Poller(Gate(services, dispatcher), **clock)


def test_lost_events_are_found_and_claimed_once(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    for name in ("a.mov", "b/c.MP4", "notes.txt", "d.mov.partial"):
        hook_services.store.put(f"incoming/{name}", b"x")
    hook_services.store.put("published/old/v001/frames/frame.0001.png", b"png")
    poller = _poller(hook_services, dispatcher)
    report = poller.poll_once()
    assert sorted(a.key for a in report.admission.claimed) == ["incoming/a.mov", "incoming/b/c.MP4"]
    assert report.listed == 4
    again = poller.poll_once()
    assert again.admission.claimed == [] and again.admission.duplicates == []
    assert len(dispatcher.submitted) == 2


def test_objects_still_settling_wait_for_the_next_pass(
    store: Any, tmp_path: Path, dispatcher: RecordingDispatcher
) -> None:
    services = Services.build(make_settings(tmp_path, settle_s=60), store=store)
    services.store.put("incoming/fresh.mov", b"x")
    now = datetime.now(UTC)
    report = _poller(services, dispatcher, clock=lambda: now).poll_once()
    assert report.settling == 1 and report.admission.claimed == []
    later = _poller(services, dispatcher, clock=lambda: now + timedelta(seconds=61)).poll_once()
    assert [a.key for a in later.admission.claimed] == ["incoming/fresh.mov"]


def test_sidecar_beside_a_lost_plate_is_honoured(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    hook_services.store.put("incoming/sh.mov.json", b'{"shot": "sq/sh0100"}')
    hook_services.store.put("incoming/sh.mov", b"x")
    [claimed] = _poller(hook_services, dispatcher).poll_once().admission.claimed
    assert hook_services.ledger.get(claimed.job_id).options.shot == "sq/sh0100"


def _claim(services: Services) -> str:
    services.store.put("incoming/sh.mov", b"x")
    from ingest_service.cli.plates import ref_for_key
    from ingest_service.run.intake import claim_plate

    return claim_plate(services, ref_for_key(services.store, "incoming/sh.mov")).record.job_id


def test_crashed_workers_jobs_are_redispatched_when_the_lease_expires(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    job_id = _claim(hook_services)
    hook_services.ledger.acquire(job_id, owner="crashed", lease_s=60)
    now = datetime.now(UTC)
    assert _poller(hook_services, dispatcher, clock=lambda: now).poll_once().redispatched == []
    late = now + timedelta(seconds=61)
    assert _poller(hook_services, dispatcher, clock=lambda: late).poll_once().redispatched == [
        job_id
    ]


def _fail(services: Services, job_id: str, *, retryable: bool) -> None:
    def failed(r: JobRecord) -> None:
        r.state = JobState.FAILED
        r.error = ErrorInfo(type="X", message="x", retryable=retryable)

    services.ledger.acquire(job_id, owner="w", lease_s=60).update(failed)


def test_retryable_failures_are_retried_with_backoff(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    job_id = _claim(hook_services)
    _fail(hook_services, job_id, retryable=True)
    now = datetime.now(UTC)
    assert _poller(hook_services, dispatcher, clock=lambda: now).poll_once().redispatched == []
    soon = now + timedelta(seconds=2)  # poll interval is 1 s in these settings
    assert _poller(hook_services, dispatcher, clock=lambda: soon).poll_once().redispatched == [
        job_id
    ]


def test_final_failures_are_reported_and_left_alone(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    job_id = _claim(hook_services)
    hook_services.store.put(hook_services.ledger.layout.active_marker(job_id), b"")  # stale
    _fail(hook_services, job_id, retryable=False)
    hook_services.store.put(hook_services.ledger.layout.active_marker(job_id), b"")
    report = _poller(hook_services, dispatcher).poll_once()
    assert report.exhausted == [job_id]
    assert report.redispatched == []
    assert list(hook_services.ledger.unfinished()) == []


@pytest.mark.slow
def test_requests_grow_with_pages_not_objects(
    s3_store: S3Store, tmp_path: Path, dispatcher: RecordingDispatcher
) -> None:
    services = Services.build(make_settings(tmp_path, settle_s=0), store=s3_store)
    for i in range(2500):
        s3_store.put(f"incoming/plates/p{i:05d}.mov", b"x")
    poller = _poller(services, dispatcher)
    poller.poll_once()  # claims 2500 (writes), then a quiet pass is what is measured
    for job_id in list(services.ledger.unfinished()):  # as if every job had been published
        services.ledger.mark_finished(job_id)
    calls: Counter[str] = Counter()

    def count(**kwargs: Any) -> None:
        calls[kwargs["model"].name] += 1

    s3_store.client.meta.events.register("before-call.s3.*", count)
    report = poller.poll_once()
    assert report.admission.claimed == []
    assert calls["HeadObject"] == 0
    assert calls["GetObject"] == 0  # no job record is read when none is unfinished
    assert calls["ListObjectsV2"] <= 3 + 3 + 1  # incoming, jobs, active: 1000 keys a page


@pytest.mark.slow
def test_race_webhook_deliveries_and_poller_make_exactly_one_job_per_object(
    s3_store: S3Store, tmp_path: Path
) -> None:
    """100 objects, each delivered 3x by webhook threads while the poller runs."""
    from handlers.events.notice import Notice
    from ingest_service.jobs.source import ObjectRef

    services = Services.build(make_settings(tmp_path, settle_s=0), store=s3_store)
    dispatcher = RecordingDispatcher()
    gate = Gate(services, dispatcher)
    refs = []
    for i in range(100):
        info = s3_store.put(f"incoming/race/p{i:03d}.mov", f"plate {i}".encode())
        refs.append(ObjectRef(bucket=s3_store.bucket, key=info.key, etag=info.etag, size=info.size))
    deliveries = [Notice(ref, "ObjectCreated:Put", "s3") for ref in refs] * 3
    stop = threading.Event()

    # The poller's clock stays at the start: on a slow machine this test can outlast a
    # poll interval, and a claim that old would rightly be re-dispatched as lost.
    started = utcnow()

    def poll() -> None:
        poller = Poller(gate, clock=lambda: started)
        while not stop.is_set():
            poller.poll_once()

    def deliver(chunk: list[Notice]) -> None:
        for notice in chunk:
            gate.admit([notice])

    poller_thread = threading.Thread(target=poll)
    poller_thread.start()
    workers = [threading.Thread(target=deliver, args=(deliveries[i::6],)) for i in range(6)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    poller_thread.join()
    assert len(set(services.ledger.ids())) == 100
    assert sorted(Counter(dispatcher.submitted).values()) == [1] * 100


def test_a_finished_job_whose_worker_died_before_notifying_is_notified_once(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    import json

    job_id = _claim(hook_services)
    hook_services.ledger.acquire(job_id, owner="w", lease_s=60).update(
        lambda r: setattr(r, "state", JobState.PUBLISHED)
    )  # …and the worker died here, before notifying
    report = _poller(hook_services, dispatcher).poll_once()
    assert report.notified == [job_id]
    record = hook_services.ledger.get(job_id)
    assert record.notified()
    assert [d.event for d in record.deliveries] == ["job.published"]
    assert list(hook_services.ledger.unfinished()) == []
    assert _poller(hook_services, dispatcher).poll_once().notified == []
    log = hook_services.settings.notify_log
    assert log is not None
    assert [json.loads(line)["event"] for line in log.read_text().splitlines()] == ["job.published"]


def test_deliveries_that_cannot_be_recorded_keep_the_job_listed_until_they_are(
    hook_services: Services, dispatcher: RecordingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import UpdateGaveUpError

    job_id = _claim(hook_services)
    hook_services.ledger.acquire(job_id, owner="w", lease_s=60).update(
        lambda r: setattr(r, "state", JobState.PUBLISHED)
    )  # …and the worker died here, before notifying
    ledger = type(hook_services.ledger)
    real = ledger.append_deliveries

    def contended(self: Any, *args: Any) -> JobRecord:
        raise UpdateGaveUpError("contended", key="k", attempts=8)

    monkeypatch.setattr(ledger, "append_deliveries", contended)
    assert _poller(hook_services, dispatcher).poll_once().notified == [job_id]
    assert list(hook_services.ledger.unfinished()) == [job_id]  # not lost: still listed
    monkeypatch.setattr(ledger, "append_deliveries", real)
    assert _poller(hook_services, dispatcher).poll_once().notified == [job_id]
    assert hook_services.ledger.get(job_id).notified()
    assert list(hook_services.ledger.unfinished()) == []
