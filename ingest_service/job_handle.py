"""A job held under a lease: every write is a compare-and-swap, a heartbeat keeps the lease."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from ingest_service.errors import JobLeaseLostError
from ingest_service.job_record import JobRecord, Lease
from ingest_service.job_states import JobState, check_transition
from storage import PreconditionFailedError, StorageError

if TYPE_CHECKING:
    from ingest_service.ledger import JobLedger

log = logging.getLogger(__name__)
WRITE_RETRIES = 4


class JobHandle:
    """The only writer of a running job's record, for as long as it holds the lease."""

    def __init__(
        self, ledger: JobLedger, record: JobRecord, etag: str, *, owner: str, lease_s: float
    ) -> None:
        self._ledger = ledger
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
            now = self._ledger.clock()
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
        key = self._ledger.key(new.job_id)
        for attempt in range(WRITE_RETRIES):
            try:
                return self._ledger.store.put(
                    key, new.to_json(), content_type="application/json", if_match=self._etag
                ).etag
            except PreconditionFailedError as exc:
                # A 412 after a retried write may be our own first try having landed.
                stored, etag = self._ledger.load(new.job_id)
                if stored.updated_at == new.updated_at and stored.lease == new.lease:
                    return etag
                self._lost.set()
                raise JobLeaseLostError(f"job {new.job_id}: lease lost to another worker") from exc
            except StorageError as exc:
                if not exc.retryable or attempt == WRITE_RETRIES - 1:
                    raise
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover


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
