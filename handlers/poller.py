"""The backstop for lost events: list, claim what has no job, re-dispatch what stalled."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.admission import Admission, Gate
from handlers.filtering import Kind, classify
from ingest_service.errors import JobNotFoundError
from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.record import JobRecord, utcnow
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState
from ingest_service.run.notify import notify_finished, notify_grace
from storage import StorageError

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    admission: Admission = field(default_factory=Admission)
    listed: int = 0
    settling: int = 0
    notifying: int = 0  # finished jobs whose worker still has time to notify
    redispatched: list[str] = field(default_factory=list)
    exhausted: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)


class Poller:
    """One pass lists the watched prefix and the job ids (a request per thousand keys
    each, never a HEAD per object), then reads only the few unfinished job records."""

    def __init__(self, gate: Gate, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.gate = gate
        self.services = gate.services
        self.clock = clock

    def poll_once(self) -> PollReport:
        report = PollReport()
        settings, store = self.services.settings, self.services.store
        known = set(self.services.ledger.ids())
        settled_before = self.clock() - timedelta(seconds=settings.settle_s)
        for info in store.list(settings.layout.incoming):
            report.listed += 1
            if classify(info.key, settings) is not Kind.PLATE:
                continue
            ref = ObjectRef.of(store.bucket, info)
            if job_id_for(ref) in known:
                continue
            if info.last_modified > settled_before:
                report.settling += 1  # may still be renamed or rewritten: next pass
                continue
            self.gate.admit_ref(ref, report.admission)
        self._redispatch(report)
        return report

    def _redispatch(self, report: PollReport) -> None:
        now = self.clock()
        claimed = {a.job_id for a in report.admission.claimed}
        for job_id in self.services.ledger.unfinished():
            if job_id in claimed:
                continue
            try:
                record = self.services.ledger.get(job_id)
            except JobNotFoundError:
                continue  # a marker whose claim never landed
            if record.finished:
                self._settle(record, now, report)
                continue
            if self._due(record, now) and self.gate.dispatcher.submit(job_id):
                self._record_dispatch(job_id, now)
                report.redispatched.append(job_id)

    def _settle(self, record: JobRecord, now: datetime, report: PollReport) -> None:
        """A finished job still listed: its worker may be notifying right now, or may have
        died first. Once it has had the grace to notify and has not, notify in its place."""
        if record.notified():
            self.services.ledger.mark_finished(record.job_id)
        # The finishing write is the record's last until its deliveries are recorded.
        elif now - record.updated_at < notify_grace(self.services.settings):
            report.notifying += 1
            return
        else:
            # Marked finished once the deliveries are recorded; else the next pass retries.
            notify_finished(self.services, record)
            report.notified.append(record.job_id)
        if record.state is JobState.FAILED:
            report.exhausted.append(record.job_id)

    def _due(self, record: JobRecord, now: datetime) -> bool:
        """Stalled work is picked up, once: a running job when its lease has expired; a
        claimed or retryable one when no worker has been asked to start it for a grace
        (a queued or cold-starting worker is not spawned twice); retries back off."""
        if record.state is JobState.RUNNING:
            return not record.lease_live(now)
        dispatched = record.last_dispatched()
        if dispatched is not None and now - dispatched < self._dispatch_grace():
            return False
        if record.state is JobState.CLAIMED:
            return True
        backoff = timedelta(seconds=self.services.settings.poll_interval_s)
        backoff *= 2 ** max(record.attempt - 1, 0)
        return record.retry_allowed and now - record.updated_at >= backoff

    def _dispatch_grace(self) -> timedelta:
        settings = self.services.settings
        return timedelta(seconds=settings.dispatch_grace_s or 2 * settings.poll_interval_s)

    def _record_dispatch(self, job_id: str, now: datetime) -> None:
        """Note when the job was handed on, unless a worker holds it by now: its record
        is then the worker's alone to write."""

        def dispatched(record: JobRecord) -> JobRecord | None:
            if record.state not in (JobState.CLAIMED, JobState.FAILED):
                return None
            return record.model_copy(update={"dispatched_at": now})

        try:
            self.services.ledger.update(job_id, dispatched)
        except (JobNotFoundError, StorageError) as exc:
            # Not recording it only means the next pass may dispatch the job again.
            log.warning("job %s: could not record its dispatch: %s", job_id, exc)


class PollLoop:
    """Runs `poll_once` every interval on a thread until stopped."""

    def __init__(self, poller: Poller, interval_s: float) -> None:
        self.poller = poller
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.poller.poll_once()
                if report.admission.claimed or report.redispatched or report.exhausted:
                    log.info(
                        "poll: claimed %d, re-dispatched %d, gave up on %d",
                        len(report.admission.claimed),
                        len(report.redispatched),
                        len(report.exhausted),
                    )
            except Exception:
                log.exception("poll pass failed; trying again next interval")
            self._stop.wait(self.interval_s)
