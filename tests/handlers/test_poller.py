"""The poller: the backstop for lost events, stalled workers and retries."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers.admission import Gate
from handlers.poller import Poller, PollReport
from ingest_service.jobs.handle import JobHandle
from ingest_service.jobs.record import Delivery, ErrorInfo, JobRecord
from ingest_service.jobs.states import JobState
from ingest_service.notify.channels import Notifier
from ingest_service.notify.message import Notification
from ingest_service.run.notify import notify_finished, notify_grace
from ingest_service.services import Services
from storage import S3Store
from tests.atomic_moto import atomic_moto
from tests.clock import Clock
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


def _timed(services: Services, dispatcher: RecordingDispatcher) -> tuple[Poller, Clock]:
    """A poller, and the services' ledger, on one clock the test moves."""
    clock = Clock()
    services.ledger.clock = clock
    return _poller(services, dispatcher, clock=clock), clock


def _claimed(services: Services, dispatcher: RecordingDispatcher) -> tuple[Poller, Clock, str]:
    """A plate claimed (the claim dispatches it) under a poller on a clock the test moves."""
    poller, clock = _timed(services, dispatcher)
    return poller, clock, _claim(services)


def _claim(services: Services) -> str:
    services.store.put("incoming/sh.mov", b"x")
    from ingest_service.cli.plates import ref_for_key
    from ingest_service.run.intake import claim_plate

    return claim_plate(services, ref_for_key(services.store, "incoming/sh.mov")).record.job_id


def test_crashed_workers_jobs_are_redispatched_when_the_lease_expires(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    poller, clock, job_id = _claimed(hook_services, dispatcher)
    hook_services.ledger.acquire(job_id, owner="crashed", lease_s=60)
    clock.advance(59)
    assert poller.poll_once().redispatched == []
    clock.advance(2)
    assert poller.poll_once().redispatched == [job_id]


def _fail(services: Services, job_id: str, *, retryable: bool) -> None:
    def failed(r: JobRecord) -> None:
        r.state = JobState.FAILED
        r.error = ErrorInfo(type="X", message="x", retryable=retryable)

    services.ledger.acquire(job_id, owner="w", lease_s=60).update(failed)


def _passes(poller: Poller, clock: Clock, every_s: float, passes: int) -> list[int]:
    """Which of `passes` scheduled passes, `every_s` apart, re-dispatched a job."""
    dispatching = []
    for n in range(1, passes + 1):
        clock.advance(every_s)
        if poller.poll_once().redispatched:
            dispatching.append(n)
    return dispatching


def test_retryable_failures_are_retried_with_backoff_and_not_spawned_every_pass(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    poller, clock, job_id = _claimed(hook_services, dispatcher)
    _fail(hook_services, job_id, retryable=True)
    assert poller.poll_once().redispatched == []  # poll interval is 1 s in these settings
    # Backoff met at 1 s; the worker it was handed to gets two intervals to start.
    assert _passes(poller, clock, 1, 5) == [1, 3, 5]
    assert dispatcher.submitted == [job_id] * 3
    assert hook_services.ledger.get(job_id).dispatched_at == clock.now


@pytest.mark.parametrize(
    ("poll_interval_s", "dispatch_grace_s", "dispatching"),
    [(1, None, [2, 4, 6]), (300, 600, [2, 4, 6]), (300, 900, [3, 6])],
)
def test_an_unstarted_job_is_dispatched_again_once_per_dispatch_grace(
    store: Any,
    tmp_path: Path,
    dispatcher: RecordingDispatcher,
    poll_interval_s: float,
    dispatch_grace_s: float | None,
    dispatching: list[int],
) -> None:
    """A worker still queued or cold-starting is not spawned again at every pass; unset,
    the grace is two poll intervals."""
    settings = make_settings(
        tmp_path, settle_s=0, poll_interval_s=poll_interval_s, dispatch_grace_s=dispatch_grace_s
    )
    services = Services.build(settings, store=store)
    poller, clock, job_id = _claimed(services, dispatcher)  # the claim dispatched it
    assert _passes(poller, clock, poll_interval_s, 6) == dispatching
    assert dispatcher.submitted == [job_id] * len(dispatching)
    assert services.ledger.get(job_id).state is JobState.CLAIMED


def test_a_job_claimed_before_dispatch_times_were_recorded_waits_from_its_claim(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    poller, clock, job_id = _claimed(hook_services, dispatcher)
    key = hook_services.ledger.key(job_id)
    old = json.loads(hook_services.store.get(key).data)
    del old["dispatched_at"]
    hook_services.store.put(key, json.dumps(old).encode())
    assert _passes(poller, clock, 1, 2) == [2]


class StartsAtOnce:
    """A dispatcher whose worker takes the job's lease before `submit` returns."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.handles: list[JobHandle] = []

    def submit(self, job_id: str) -> bool:
        self.handles.append(self.services.ledger.acquire(job_id, owner="quick", lease_s=60))
        return True


def test_a_dispatch_is_not_recorded_over_the_worker_that_already_started(
    hook_services: Services,
) -> None:
    clock = Clock()
    hook_services.ledger.clock = clock
    quick = StartsAtOnce(hook_services)
    poller = Poller(Gate(hook_services, quick), clock=clock)
    job_id = _claim(hook_services)
    clock.advance(2)
    assert poller.poll_once().redispatched == [job_id]
    [handle] = quick.handles
    handle.update(lambda r: setattr(r, "current_stage", "probe"))  # its lease is intact
    record = hook_services.ledger.get(job_id)
    assert (record.state, record.dispatched_at) == (JobState.RUNNING, None)


def test_final_failures_are_reported_and_left_alone(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    poller, clock, job_id = _claimed(hook_services, dispatcher)
    _fail(hook_services, job_id, retryable=False)
    report = poller.poll_once()
    assert (report.notifying, report.exhausted, report.redispatched) == (1, [], [])
    clock.advance(notify_grace(hook_services.settings).total_seconds())
    report = poller.poll_once()
    assert report.exhausted == [job_id]
    assert report.redispatched == []
    assert _notified_events(hook_services) == ["job.failed"]
    assert list(hook_services.ledger.unfinished()) == []


@pytest.mark.slow
def test_requests_grow_with_pages_not_objects(
    s3_store: S3Store, tmp_path: Path, dispatcher: RecordingDispatcher
) -> None:
    services = Services.build(make_settings(tmp_path, settle_s=0), store=s3_store)

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["MaxKeys"] = 100  # S3 pages at 1000 keys; 100 shows the same with fewer claims

    s3_store.client.meta.events.register("provide-client-params.s3.ListObjectsV2", small_pages)
    for i in range(250):
        s3_store.put(f"incoming/plates/p{i:05d}.mov", b"x")
    poller = _poller(services, dispatcher)
    poller.poll_once()  # claims 250 (writes), then a quiet pass is what is measured
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
    # incoming and jobs take 3 pages each at 100 keys a page, active one
    assert 3 + 3 <= calls["ListObjectsV2"] <= 3 + 3 + 1


@pytest.mark.slow
@pytest.mark.usefixtures(atomic_moto.__name__)
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
    # Claims and passes read one clock that stands still where the last upload landed:
    # every plate has settled, and however slow the machine, no claim grows old enough
    # to be re-dispatched as lost.
    clock = Clock(max(i.last_modified for i in s3_store.list("incoming/")))
    services.ledger.clock = clock
    deliveries = [Notice(ref, "ObjectCreated:Put", "s3") for ref in refs] * 3
    stop = threading.Event()

    def poll() -> None:
        poller = Poller(gate, clock=clock)
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


def _publish(services: Services, job_id: str) -> JobRecord:
    """A worker's last write: the job is published, its notification not yet sent."""
    return services.ledger.acquire(job_id, owner="w", lease_s=60).update(
        lambda r: setattr(r, "state", JobState.PUBLISHED)
    )


def _notified_events(services: Services) -> list[str]:
    log = services.settings.notify_log
    assert log is not None
    return [json.loads(line)["event"] for line in log.read_text().splitlines()]


class PollsAfterSending(Notifier):
    """A worker's notifier, and a poller pass between its send and the recording of
    the delivery: the moment a poller once took for a worker that died."""

    def __init__(self, notifier: Notifier, poller: Poller) -> None:
        super().__init__(notifier.channels)
        self.poller = poller
        self.reports: list[PollReport] = []

    def send(self, note: Notification) -> list[Delivery]:
        deliveries = super().send(note)
        self.reports.append(self.poller.poll_once())
        return deliveries


def test_a_poll_while_the_worker_records_its_notification_sends_no_second_one(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    poller, clock = _timed(hook_services, dispatcher)
    worker = Services.build(hook_services.settings, store=hook_services.store)
    worker.ledger.clock = clock
    worker.notifier = midway = PollsAfterSending(worker.notifier, poller)
    job_id = _claim(hook_services)
    record = _publish(worker, job_id)
    clock.advance(0.5)  # the webhook took its time
    notify_finished(worker, record)
    [report] = midway.reports
    assert report.notified == []
    assert _notified_events(hook_services) == ["job.published"]
    assert [d.event for d in hook_services.ledger.get(job_id).deliveries] == ["job.published"]
    assert list(hook_services.ledger.unfinished()) == []


def test_a_finished_job_whose_worker_died_before_notifying_is_notified_once(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    poller, clock, job_id = _claimed(hook_services, dispatcher)
    _publish(hook_services, job_id)  # …and the worker died here, before notifying
    grace = notify_grace(hook_services.settings).total_seconds()
    clock.advance(grace - 1)
    assert poller.poll_once().notified == []  # its worker may still be sending
    clock.advance(1)
    assert poller.poll_once().notified == [job_id]
    record = hook_services.ledger.get(job_id)
    assert record.notified()
    assert [d.event for d in record.deliveries] == ["job.published"]
    assert list(hook_services.ledger.unfinished()) == []
    assert poller.poll_once().notified == []
    assert _notified_events(hook_services) == ["job.published"]


def test_deliveries_that_cannot_be_recorded_keep_the_job_listed_until_they_are(
    hook_services: Services, dispatcher: RecordingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import UpdateGaveUpError

    poller, clock, job_id = _claimed(hook_services, dispatcher)
    _publish(hook_services, job_id)  # …and the worker died here, before notifying
    clock.advance(notify_grace(hook_services.settings).total_seconds())
    ledger = type(hook_services.ledger)
    real = ledger.append_deliveries

    def contended(self: Any, *args: Any) -> JobRecord:
        raise UpdateGaveUpError("contended", key="k", attempts=8)

    monkeypatch.setattr(ledger, "append_deliveries", contended)
    assert poller.poll_once().notified == [job_id]
    assert list(hook_services.ledger.unfinished()) == [job_id]  # not lost: still listed
    monkeypatch.setattr(ledger, "append_deliveries", real)
    assert poller.poll_once().notified == [job_id]
    assert hook_services.ledger.get(job_id).notified()
    assert list(hook_services.ledger.unfinished()) == []
