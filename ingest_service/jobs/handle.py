"""A job held under a lease: every write is a compare-and-swap, a heartbeat keeps the lease."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from ingest_service.errors import JobLeaseLostError
from ingest_service.jobs.record import RECORD_CODEC, JobRecord, Lease
from ingest_service.jobs.states import JobState, check_transition
from storage import ObjectStore, StorageError, Versioned, conditional

log = logging.getLogger(__name__)


class JobHandle:
    """The only writer of a running job's record, for as long as it holds the lease."""

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        record: JobRecord,
        etag: str,
        *,
        owner: str,
        lease_s: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._key = key
        self._clock = clock
        self._record = record
        self._etag = etag
        self.owner = owner
        self.lease_s = lease_s
        self._lock = threading.Lock()
        self._lost = threading.Event()

    @property
    def record(self) -> JobRecord:
        with self._lock:
            return self._record.model_copy(deep=True)

    @property
    def job_id(self) -> str:
        return self._record.job_id

    def check(self) -> None:
        """Raise if another worker has taken the job over; call between units of work."""
        if self._lost.is_set():
            raise JobLeaseLostError(f"job {self.job_id}: lease lost to another worker")

    def update(self, change: Callable[[JobRecord], None]) -> JobRecord:
        """Apply `change` to a copy of the record and write it if we still hold the lease."""
        return self._update(change, release=False)

    def release(self) -> None:
        """Hand the job back (shutdown): the next start takes it over at once."""
        self._update(lambda record: None, release=True)
        self._lost.set()  # nothing more may be written by this handle

    def _update(self, change: Callable[[JobRecord], None], *, release: bool) -> JobRecord:
        with self._lock:
            self.check()
            new = self._record.model_copy(deep=True)
            before = new.state
            change(new)
            if new.state is not before:
                check_transition(before, new.state)
            now = self._clock()
            new.updated_at = now
            if new.state is not JobState.RUNNING:
                new.lease = None
            elif release:
                new.lease = Lease(owner=self.owner, until=now, released=True)
            else:
                new.lease = Lease(owner=self.owner, until=now + timedelta(seconds=self.lease_s))
            self._etag = self._write(new)
            self._record = new
            return new.model_copy(deep=True)

    def renew(self) -> None:
        self.update(lambda record: None)

    def _write(self, new: JobRecord) -> str:
        """Write `new` over the version this handle last wrote, or learn the lease is lost."""
        held = self._record

        def replace(stored: JobRecord | None) -> JobRecord | None:
            if stored == held:
                return new
            landed = stored is not None and (stored.updated_at, stored.lease) == (
                new.updated_at,
                new.lease,
            )
            if landed:
                return None  # our own write landed before a retry was needed
            self._lost.set()
            raise JobLeaseLostError(f"job {new.job_id}: lease lost to another worker")

        start = Versioned(held, self._etag)
        stored = conditional.update(self._store, self._key, replace, RECORD_CODEC, start=start)
        assert stored.etag is not None
        return stored.etag


class Heartbeat:
    """Renews the lease every third of its length while a stage runs in the foreground."""

    def __init__(self, handle: JobHandle, *, interval_s: float | None = None) -> None:
        self._handle = handle
        self._interval = interval_s or handle.lease_s / 3
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"lease-{handle.job_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._handle.renew()
            except JobLeaseLostError:
                log.warning("job %s: lease lost; stopping at the next check", self._handle.job_id)
                return
            except StorageError as exc:
                # Keep trying: the lease is only lost if it actually expires.
                log.warning("job %s: lease renewal failed: %s", self._handle.job_id, exc)
