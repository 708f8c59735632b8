"""The job ledger: claim with one conditional create, run under a lease, hand over by CAS."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest_service.errors import (
    JobLeaseHeldError,
    JobNotFoundError,
    JobRecordUnreadableError,
    JobStateError,
)
from ingest_service.jobs.handle import JobHandle
from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.layout import BucketLayout
from ingest_service.jobs.options import JobOptions
from ingest_service.jobs.record import (
    RECORD_CODEC,
    Delivery,
    ErrorInfo,
    JobRecord,
    Lease,
    utcnow,
)
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState, check_transition
from ingest_service.metrics import METRICS
from storage import ABSENT, Codec, ObjectStore, PreconditionFailedError, Versioned, conditional

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """`claimed` is True for exactly one claimer of an object version; `record` is the job."""

    claimed: bool
    record: JobRecord


class JobLedger:
    def __init__(
        self,
        store: ObjectStore,
        *,
        layout: BucketLayout | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.layout = layout or BucketLayout()
        self.clock = clock
        self._unreadable: set[tuple[str, str]] = set()  # (job id, digest) already reported
        self._unreadable_lock = threading.Lock()

    def key(self, job_id: str) -> str:
        return self.layout.job(job_id)

    def ids(self) -> Iterator[str]:
        """Every job id, from one paginated listing (no record is read)."""
        for info in self.store.list(self.layout.jobs):
            job_id = self.layout.job_id_of(info.key)
            if job_id is not None:
                yield job_id

    def unfinished(self) -> Iterator[str]:
        """Ids of jobs that are claimed, running, or failed with attempts left: a listing
        of the few unfinished ones' markers, not a GET of every record."""
        for info in self.store.list(self.layout.active):
            yield info.key[len(self.layout.active) :]

    def _index_key(self, record: JobRecord) -> str:
        return self.layout.index_marker(record.created_at, record.job_id)

    def newest(self) -> Iterator[str]:
        """Job ids, newest first, from one paginated listing of the index (a page of the
        newest jobs is then a GET per job shown, not a GET of every job)."""
        for info in self.store.list(self.layout.index):
            yield self.layout.job_id_of_index(info.key)

    def ensure_index(self) -> int:
        """Index the jobs the index misses (a claimer that died between its two writes,
        or jobs from before the index); returns how many were added."""
        indexed = set(self.newest())
        missing = [job_id for job_id in self.ids() if job_id not in indexed]
        for job_id in missing:
            with contextlib.suppress(JobNotFoundError):
                self.store.put(self._index_key(self.get(job_id)), b"")
        return len(missing)

    def mark_finished(self, job_id: str) -> None:
        self.store.delete(self.layout.active_marker(job_id))

    def claim(self, ref: ObjectRef, options: JobOptions, *, max_attempts: int) -> ClaimResult:
        """Create the job record if no one has; a duplicate event, poll or webhook is a no-op."""
        now = self.clock()
        record = JobRecord(
            job_id=job_id_for(ref),
            source=ref,
            options=options,
            max_attempts=max_attempts,
            created_at=now,
            updated_at=now,
        )
        # The marker goes first: a crash between the two writes leaves a marker for a
        # job that may not exist (harmless), never a job that no one will pick up. Only
        # the first claimer writes it: duplicates cost one refused conditional write.
        with contextlib.suppress(PreconditionFailedError):
            self.store.put(self.layout.active_marker(record.job_id), b"", if_none_match=True)
        # One conditional create: the first claimer wins; anyone else gets the job as is.
        stored = conditional.update(
            self.store,
            self.key(record.job_id),
            lambda existing: record if existing is None else None,
            RECORD_CODEC,
            start=ABSENT,
        )
        if stored.written:
            self.store.put(self._index_key(record), b"")
        assert stored.value is not None
        return ClaimResult(claimed=stored.written, record=stored.value)

    def _codec(self, job_id: str) -> Codec[JobRecord]:
        """The record codec, refusing what is not a job record with a typed error (and
        reporting it once), so that one bad object never takes down a listing."""

        def load(data: bytes) -> JobRecord:
            try:
                return RECORD_CODEC.load(data)
            except ValueError as exc:  # bad JSON or wrong shape (pydantic's ValidationError)
                self._report_unreadable(job_id, data, exc)
                raise JobRecordUnreadableError(
                    f"no job {job_id} (its record cannot be read)"
                ) from exc

        return Codec(load, RECORD_CODEC.dump, RECORD_CODEC.content_type)

    def _report_unreadable(self, job_id: str, data: bytes, exc: ValueError) -> None:
        seen = (job_id, hashlib.sha256(data).hexdigest())
        with self._unreadable_lock:
            if seen in self._unreadable:
                return
            self._unreadable.add(seen)
        METRICS.record_unreadable()
        first = str(exc).splitlines()[0][:200]
        log.warning("job record %s cannot be read, skipped: %s", job_id, first)

    def get(self, job_id: str) -> JobRecord:
        """The job's record; JobNotFoundError if there is none, JobRecordUnreadableError
        (a kind of it) if the object under its key is not a job record."""
        record = conditional.read(self.store, self.key(job_id), self._codec(job_id)).value
        if record is None:
            raise JobNotFoundError(f"no job {job_id}")
        return record

    def list(self) -> Iterator[JobRecord]:
        """Every readable job; an unreadable record is skipped (and reported once)."""
        for job_id in self.ids():
            with contextlib.suppress(JobNotFoundError):
                yield self.get(job_id)

    def update(
        self, job_id: str, change: Callable[[JobRecord], JobRecord | None]
    ) -> Versioned[JobRecord]:
        """Compare-and-swap a job's record: `change` gets a fresh copy each round and
        returns the new record (or None to leave it); raises if there is no such job."""

        def existing(record: JobRecord | None) -> JobRecord | None:
            if record is None:
                raise JobNotFoundError(f"no job {job_id}")
            return change(record)

        return conditional.update(self.store, self.key(job_id), existing, self._codec(job_id))

    def amend_unstarted(self, job_id: str, options: JobOptions) -> str:
        """Replace a claimed job's options if no worker has started it; says what happened."""

        def amend(record: JobRecord) -> JobRecord | None:
            if record.state is not JobState.CLAIMED:
                return None
            return record.model_copy(update={"options": options, "updated_at": self.clock()})

        try:
            stored = self.update(job_id, amend)
        except JobNotFoundError:
            return "plate has no job yet; its job will read this sidecar when it is claimed"
        if not stored.written:
            assert stored.value is not None
            return f"too late: the plate's job is already {stored.value.state}"
        return "applied to the plate's job"

    def append_deliveries(self, job_id: str, deliveries: Sequence[Delivery]) -> JobRecord:
        """Record notifications sent for a job; raises if they could not be recorded."""

        def append(record: JobRecord) -> JobRecord:
            record.deliveries.extend(deliveries)
            record.updated_at = self.clock()
            return record

        stored = self.update(job_id, append)
        assert stored.value is not None
        return stored.value

    def allow_retry(self, job_id: str, options: JobOptions | None = None) -> JobRecord:
        """Give a failed job one more attempt (an operator's decision, after fixing the
        cause). New options apply only if no stage has been recorded yet."""

        def retry(record: JobRecord) -> JobRecord:
            if record.state is not JobState.FAILED:
                raise JobStateError(
                    f"job {job_id} is {record.state}, not failed", state=record.state
                )
            record.max_attempts = max(record.max_attempts, record.attempt + 1)
            if record.error is not None:
                record.error.retryable = True
            if options is not None and not record.stages:
                record.options = options
            record.updated_at = self.clock()
            return record

        self.store.put(self.layout.active_marker(job_id), b"")
        stored = self.update(job_id, retry)
        assert stored.value is not None
        return stored.value

    def acquire(self, job_id: str, *, owner: str, lease_s: float) -> JobHandle:
        """Start (or take over, or retry) a job; raises if it is live elsewhere or finished."""

        def start(record: JobRecord) -> JobRecord:
            now = self.clock()
            if self._gives_up(record, owner, now):
                return self._given_up(record, now)
            check_transition(record.state, JobState.RUNNING)
            # A lease handed back at shutdown did not use up an attempt.
            handed_back = (
                record.state is JobState.RUNNING and record.lease and record.lease.released
            )
            running = record.model_copy(deep=True)
            running.state = JobState.RUNNING
            running.attempt += 0 if handed_back else 1
            running.lease = Lease(owner=owner, until=now + timedelta(seconds=lease_s))
            running.updated_at = now
            return running

        stored = self.update(job_id, start)
        record = stored.value
        assert record is not None
        assert stored.etag is not None
        if record.state is JobState.FAILED:
            assert record.error is not None
            raise JobStateError(f"job {job_id} failed: {record.error.message}", state="failed")
        return JobHandle(
            self.store,
            self.key(job_id),
            record,
            stored.etag,
            owner=owner,
            lease_s=lease_s,
            clock=self.clock,
        )

    def _gives_up(self, record: JobRecord, owner: str, now: datetime) -> bool:
        """Whether to stop taking over a job whose workers keep dying; raises if the job
        may not run now at all."""
        if record.state is JobState.PUBLISHED:
            raise JobStateError(f"job {record.job_id} is already published", state=record.state)
        if record.state is JobState.FAILED and not record.retry_allowed:
            why = "attempts exhausted" if record.attempt >= record.max_attempts else "not retryable"
            raise JobStateError(f"job {record.job_id} failed ({why})", state=record.state)
        if record.state is not JobState.RUNNING:
            return False
        lease = record.lease
        if lease is not None and lease.until > now and lease.owner != owner:
            raise JobLeaseHeldError(
                f"job {record.job_id} is running on {lease.owner} until {lease.until:%H:%M:%S}",
                owner=lease.owner,
            )
        return record.attempt >= record.max_attempts and not (lease and lease.released)

    def _given_up(self, record: JobRecord, now: datetime) -> JobRecord:
        """The job failed for good, and says why (a worker that decided first wins the CAS)."""
        failed = record.model_copy(deep=True)
        failed.state = JobState.FAILED
        failed.lease = None
        failed.updated_at = now
        failed.error = ErrorInfo(
            type="JobLeaseExpiredError",
            message=(
                f"the worker running stage {record.current_stage or '?'} stopped renewing its "
                f"lease {record.attempt} times (crashed, killed or out of memory)"
            ),
            retryable=False,
            stage=record.current_stage,
            at=now,
        )
        return failed
