"""The job ledger: claim with one conditional create, run under a lease, hand over by CAS."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest_service.errors import JobLeaseHeldError, JobNotFoundError, JobStateError
from ingest_service.job_handle import JobHandle
from ingest_service.job_ids import job_id_for
from ingest_service.job_record import Delivery, ErrorInfo, JobOptions, JobRecord, Lease, utcnow
from ingest_service.job_states import JobState, check_transition
from ingest_service.objects import ObjectRef
from storage import ConflictError, ObjectNotFoundError, ObjectStore, PreconditionFailedError

CONFLICT_RETRIES = 5


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
        state_prefix: str = ".ingest/",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.prefix = f"{state_prefix}jobs/"
        # One empty marker per unfinished job, so that finding the jobs that need a
        # worker is a listing of the few unfinished ones, not a GET of every record.
        self.active_prefix = f"{state_prefix}active/"
        # One empty marker per job, named so that key order is newest first: a page of
        # the newest jobs is one listing and a GET per job shown, not a GET of every job.
        self.index_prefix = f"{state_prefix}index/"
        self.clock = clock

    def key(self, job_id: str) -> str:
        return f"{self.prefix}{job_id}.json"

    def ids(self) -> Iterator[str]:
        """Every job id, from one paginated listing (no record is read)."""
        for info in self.store.list(self.prefix):
            if info.key.endswith(".json"):
                yield info.key[len(self.prefix) : -len(".json")]

    def unfinished(self) -> Iterator[str]:
        """Ids of jobs that are claimed, running, or failed with attempts left."""
        for info in self.store.list(self.active_prefix):
            yield info.key[len(self.active_prefix) :]

    def _index_key(self, record: JobRecord) -> str:
        millis = int(record.created_at.timestamp() * 1000)
        return f"{self.index_prefix}{10**13 - millis:013d}-{record.job_id}"

    def newest(self) -> Iterator[str]:
        """Job ids, newest first, from one paginated listing of the index."""
        for info in self.store.list(self.index_prefix):
            yield info.key[len(self.index_prefix) + 14 :]

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
        self.store.delete(f"{self.active_prefix}{job_id}")

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
            self.store.put(f"{self.active_prefix}{record.job_id}", b"", if_none_match=True)
        for attempt in range(CONFLICT_RETRIES):
            try:
                self.store.put(
                    self.key(record.job_id),
                    record.to_json(),
                    content_type="application/json",
                    if_none_match=True,
                )
                self.store.put(self._index_key(record), b"")
                return ClaimResult(claimed=True, record=record)
            except PreconditionFailedError:
                return ClaimResult(claimed=False, record=self.get(record.job_id))
            except ConflictError:
                # S3 answers 409 while another conditional write of the key is in flight;
                # asking again resolves to a win or a 412.
                time.sleep(0.05 * 2**attempt)
        return ClaimResult(claimed=False, record=self.get(record.job_id))

    def load(self, job_id: str) -> tuple[JobRecord, str]:
        try:
            stored = self.store.get(self.key(job_id))
        except ObjectNotFoundError as exc:
            raise JobNotFoundError(f"no job {job_id}") from exc
        return JobRecord.model_validate_json(stored.data), stored.info.etag

    def get(self, job_id: str) -> JobRecord:
        return self.load(job_id)[0]

    def list(self) -> Iterator[JobRecord]:
        for job_id in self.ids():
            with contextlib.suppress(JobNotFoundError):
                yield self.get(job_id)

    def amend_unstarted(self, job_id: str, options: JobOptions) -> str:
        """Replace a claimed job's options if no worker has started it; says what happened."""
        for _ in range(CONFLICT_RETRIES):
            try:
                record, etag = self.load(job_id)
            except JobNotFoundError:
                return "plate has no job yet; its job will read this sidecar when it is claimed"
            if record.state is not JobState.CLAIMED:
                return f"too late: the plate's job is already {record.state}"
            amended = record.model_copy(update={"options": options, "updated_at": self.clock()})
            try:
                self.store.put(self.key(job_id), amended.to_json(),
                               content_type="application/json", if_match=etag)  # fmt: skip
            except (PreconditionFailedError, ConflictError):
                continue
            return "applied to the plate's job"
        return "not applied: the job kept changing"

    def append_deliveries(self, job_id: str, deliveries: Sequence[Delivery]) -> None:
        """Record notifications sent for a finished job (no lease: nothing else writes it)."""
        for _ in range(CONFLICT_RETRIES):
            record, etag = self.load(job_id)
            record.deliveries.extend(deliveries)
            record.updated_at = self.clock()
            try:
                self.store.put(self.key(job_id), record.to_json(),
                               content_type="application/json", if_match=etag)  # fmt: skip
                return
            except (PreconditionFailedError, ConflictError):
                continue

    def allow_retry(self, job_id: str, options: JobOptions | None = None) -> JobRecord:
        """Give a failed job one more attempt (an operator's decision, after fixing the
        cause). New options apply only if no stage has been recorded yet."""
        for _ in range(CONFLICT_RETRIES):
            record, etag = self.load(job_id)
            if record.state is not JobState.FAILED:
                raise JobStateError(
                    f"job {job_id} is {record.state}, not failed", state=record.state
                )
            retried = record.model_copy(deep=True)
            retried.max_attempts = max(record.max_attempts, record.attempt + 1)
            if retried.error is not None:
                retried.error.retryable = True
            if options is not None and not record.stages:
                retried.options = options
            retried.updated_at = self.clock()
            self.store.put(f"{self.active_prefix}{job_id}", b"")
            try:
                self.store.put(self.key(job_id), retried.to_json(),
                               content_type="application/json", if_match=etag)  # fmt: skip
            except (PreconditionFailedError, ConflictError):
                continue
            return retried
        raise JobStateError(f"job {job_id} kept changing; try again", state="failed")

    def acquire(self, job_id: str, *, owner: str, lease_s: float) -> JobHandle:
        """Start (or take over, or retry) a job; raises if it is live elsewhere or finished."""
        for _ in range(CONFLICT_RETRIES):
            record, etag = self.load(job_id)
            now = self.clock()
            self._check_runnable(record, etag, owner, now)
            running = record.model_copy(deep=True)
            check_transition(record.state, JobState.RUNNING)
            running.state = JobState.RUNNING
            # A lease handed back at shutdown did not use up an attempt.
            handed_back = (
                record.state is JobState.RUNNING and record.lease and record.lease.released
            )
            running.attempt += 0 if handed_back else 1
            running.lease = Lease(owner=owner, until=now + timedelta(seconds=lease_s))
            running.updated_at = now
            try:
                info = self.store.put(
                    self.key(job_id),
                    running.to_json(),
                    content_type="application/json",
                    if_match=etag,
                )
            except (PreconditionFailedError, ConflictError):
                continue  # someone else moved it: look again
            return JobHandle(self, running, info.etag, owner=owner, lease_s=lease_s)
        raise JobLeaseHeldError(f"job {job_id} kept changing under us", owner="unknown")

    def _check_runnable(self, record: JobRecord, etag: str, owner: str, now: datetime) -> None:
        if record.state is JobState.PUBLISHED:
            raise JobStateError(f"job {record.job_id} is already published", state=record.state)
        if record.state is JobState.FAILED and not record.retry_allowed:
            why = "attempts exhausted" if record.attempt >= record.max_attempts else "not retryable"
            raise JobStateError(f"job {record.job_id} failed ({why})", state=record.state)
        if record.state is not JobState.RUNNING:
            return
        lease = record.lease
        if lease is not None and lease.until > now and lease.owner != owner:
            raise JobLeaseHeldError(
                f"job {record.job_id} is running on {lease.owner} until {lease.until:%H:%M:%S}",
                owner=lease.owner,
            )
        if record.attempt >= record.max_attempts and not (lease and lease.released):
            self._give_up(record, etag, now)

    def _give_up(self, record: JobRecord, etag: str, now: datetime) -> None:
        """A job whose workers keep dying stops being taken over, and says why."""
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
        # If another worker decided first, its word stands.
        with contextlib.suppress(PreconditionFailedError):
            self.store.put(
                self.key(record.job_id),
                failed.to_json(),
                content_type="application/json",
                if_match=etag,
            )
        raise JobStateError(f"job {record.job_id} failed: {failed.error.message}", state="failed")
