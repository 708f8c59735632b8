"""Running jobs on a bounded pool of threads in this process (workstation and `serve`)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from ingest_service.run import pipeline
from ingest_service.services import Services

log = logging.getLogger(__name__)


class ThreadDispatcher:
    """A bounded pool of worker threads in this process (the workstation and `serve`).

    A job is queued at most once at a time; one found running elsewhere, finished or
    failed for good is skipped by the ledger, so extra submissions are harmless.
    """

    def __init__(self, services: Services, *, workers: int = 1) -> None:
        self._services = services
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="job")
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.stop = threading.Event()

    def submit(self, job_id: str) -> bool:
        with self._lock:
            if job_id in self._queued or self.stop.is_set():
                return False
            self._queued.add(job_id)
        self._pool.submit(self._run, job_id)
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._queued, timeout)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking jobs; running ones hand themselves back after their current stage."""
        self.stop.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _run(self, job_id: str) -> None:
        try:
            pipeline.run_dispatched(job_id, self._services, stop=self.stop)
        except Exception:
            log.exception("job %s: unexpected error outside the pipeline", job_id)
        finally:
            with self._idle:
                self._queued.discard(job_id)
                self._idle.notify_all()
