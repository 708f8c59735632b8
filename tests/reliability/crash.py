"""Killing a worker process with SIGKILL at a chosen point of its job, and resuming the job.

The worker is the real command line (`python -m ingest_service.cli.main process KEY`) in a
process of its own, on a folder bucket. It is stopped from outside, by what the bucket
shows, with no hook in the service: every write to a folder bucket other than a create
takes the store's cross-process lock (flock). While the test holds that lock, the worker
runs on to its next write and waits there; the test reads the job record and the version
folder, and kills the worker before letting go. What it read is then exactly what the
worker left behind, however fast or slow either side runs.

The job is then resumed as a second machine would: a poller finds the running job whose
lease has lapsed (on a clock moved past it) and hands it to a pool of worker threads.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from handlers.admission import Gate
from handlers.poller import Poller, PollReport
from ingest_service.errors import JobNotFoundError
from ingest_service.jobs.record import JobRecord, utcnow
from ingest_service.jobs.states import JobState
from ingest_service.run.notify import notify_grace
from ingest_service.run.threads import ThreadDispatcher
from ingest_service.services import Services
from ingest_service.settings import Settings
from storage import LocalStore
from storage.local import INTERNAL_DIR
from tests.clock import Clock

STAGES = ["probe", "frames", "camera", "depth"]
# What each stage writes into the version folder, by the folder it writes under.
FOLDER = {"frames": "frames/", "camera": "camera/", "depth": "depth/"}
MANIFEST = "manifest.json"
# A bound on a hang (a worker that never gets where it was sent), not a timing.
STOP_TIMEOUT_S = 300.0


def crash_settings(folder: Path, **overrides: object) -> Settings:
    """What the worker and whoever resumes its job both run with (one bucket, one log)."""
    values: dict[str, object] = {
        "store": str(folder / "bucket"),
        "stages": STAGES,
        "workers": 1,
        "notify_log": folder / "notifications.jsonl",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a worker process `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env.update(
        OMP_NUM_THREADS="1",
        INGEST_STORE=settings.store,
        INGEST_STAGES=",".join(settings.stages),
        INGEST_WORKERS=str(settings.workers),
        INGEST_LEASE_SECONDS=str(settings.lease_seconds),
        INGEST_MAX_ATTEMPTS=str(settings.max_attempts),
        INGEST_NOTIFY_LOG=str(settings.notify_log),
    )
    return env


@dataclass(frozen=True)
class Seen:
    """The job as a worker left it: its record, and the files in its version folder."""

    record: JobRecord | None
    files: frozenset[str] = field(default_factory=frozenset)  # relative to the folder

    @property
    def done(self) -> set[str]:
        record = self.record
        return set() if record is None else {n for n in record.stages if record.stage_done(n)}

    @property
    def stage(self) -> str | None:
        return None if self.record is None else self.record.current_stage

    @property
    def state(self) -> JobState | None:
        return None if self.record is None else self.record.state

    def wrote(self, folder: str) -> bool:
        return any(f.startswith(folder) for f in self.files)


@dataclass(frozen=True)
class KillPoint:
    name: str
    reached: Callable[[Seen], bool]


def _before(n: int) -> set[str]:
    return set(STAGES[:n])


def _after(n: int) -> KillPoint:
    """Stage n has been recorded; the next has written nothing yet."""
    following = STAGES[n + 1] if n + 1 < len(STAGES) else None

    def reached(s: Seen) -> bool:
        nothing_next = following is None or not s.wrote(FOLDER.get(following, "\0"))
        return s.done == _before(n + 1) and nothing_next and not s.wrote(MANIFEST)

    return KillPoint(f"after-{STAGES[n]}", reached)


def _within(n: int, *, wrote: bool) -> KillPoint:
    """Stage n has begun and is not recorded; some of its files are written (or, for a
    stage that writes only once it has computed everything, none yet)."""
    stage = STAGES[n]

    def reached(s: Seen) -> bool:
        return s.stage == stage and s.done == _before(n) and s.wrote(FOLDER[stage]) is wrote

    return KillPoint(f"mid-{stage}", reached)


KILL_POINTS = [
    KillPoint("running", lambda s: s.state is JobState.RUNNING and not s.done),
    _after(0),
    _within(1, wrote=True),
    _after(1),
    _within(2, wrote=False),
    _after(2),
    _within(3, wrote=True),
    _after(3),
    KillPoint("manifest-written", lambda s: s.state is JobState.RUNNING and s.wrote(MANIFEST)),
    KillPoint(
        "published",
        lambda s: (
            s.state is JobState.PUBLISHED and s.record is not None and not s.record.deliveries
        ),
    ),
]


def look(services: Services, job_id: str) -> Seen:
    try:
        record = services.ledger.get(job_id)
    except JobNotFoundError:
        return Seen(None)
    prefix = record.output_prefix
    if not prefix:
        return Seen(record)
    return Seen(record, frozenset(i.key[len(prefix) :] for i in services.store.list(prefix)))


@contextlib.contextmanager
def write_lock(bucket: Path) -> Iterator[None]:
    """The folder store's cross-process write lock (see `LocalStore`), held."""
    with (bucket / INTERNAL_DIR / "cas.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start_worker(settings: Settings, key: str, log: Path) -> subprocess.Popen[bytes]:
    """`ingest-service process KEY` in its own process: claims the plate and runs its job."""
    argv = [sys.executable, "-m", "ingest_service.cli.main", "process", key]
    # A killed worker leaves its scratch folder behind: keep it beside the test's files.
    scratch = log.parent / "worker-tmp"
    scratch.mkdir(exist_ok=True)
    env = {**worker_env(settings), "TMPDIR": str(scratch)}
    with log.open("ab") as err:
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)


def kill_at(
    worker: subprocess.Popen[bytes],
    services: Services,
    job_id: str,
    point: KillPoint,
    *,
    log: Path,
) -> Seen:
    """Let the worker on one write at a time until the job is at `point`; kill it there
    (SIGKILL) and return what it left. Raises if it ends or passes the point first."""
    bucket = Path(services.settings.store)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        with write_lock(bucket):
            seen = look(services, job_id)
            if point.reached(seen):
                worker.kill()
                worker.wait()
                return seen
            if worker.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise AssertionError(
                    f"the worker ended (status {worker.returncode}) before {point.name}: "
                    f"{seen.state}, done {sorted(seen.done)}\n{tail}"
                )
        time.sleep(0.001)  # the worker's turn at the lock
    worker.kill()
    worker.wait()
    raise TimeoutError(f"the worker did not reach {point.name} in {STOP_TIMEOUT_S:.0f} s")


@dataclass
class Resumed:
    record: JobRecord
    report: PollReport


def resume(settings: Settings, job_id: str) -> Resumed:
    """One poller pass on a machine whose clock is past the dead worker's lease and its
    grace to notify: the job is re-dispatched (or notified for), and run to its end."""
    services = Services.build(settings, store=LocalStore(settings.store))
    lapse = timedelta(seconds=settings.lease_seconds) + notify_grace(settings)
    clock = Clock(utcnow() + lapse + timedelta(seconds=1), tick_s=0.001)
    services.ledger.clock = clock
    workers = ThreadDispatcher(services, workers=1)
    try:
        report = Poller(Gate(services, workers), clock=clock).poll_once()
        assert workers.wait_idle(timeout=STOP_TIMEOUT_S), "the resumed job never finished"
    finally:
        workers.shutdown(wait=True)
    return Resumed(services.ledger.get(job_id), report)
