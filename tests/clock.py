"""A clock the test moves by hand, for rules measured in time (leases, graces, backoff)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Stands still unless advanced; with `tick`, each reading is that much later than
    the last, so no two writes share a timestamp however the threads interleave."""

    def __init__(self, start: datetime | None = None, *, tick_s: float = 0.0) -> None:
        self.now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
        self._tick = timedelta(seconds=tick_s)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            now = self.now
            self.now += self._tick
            return now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)
