"""Process metrics in Prometheus' text format: job outcomes and stage durations."""

from __future__ import annotations

import threading
from collections import defaultdict

# Stage durations span a 1 s probe to an hour-long solve.
BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, float("inf"))


class Metrics:
    """Counts what this process did; thread-safe, cheap enough for every stage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, int] = defaultdict(int)
        self._stage_counts: dict[tuple[str, str], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self._sums: dict[str, float] = defaultdict(float)
        self._unreadable_records = 0

    def record_unreadable(self) -> None:
        """A job record that is not a job (bad JSON, wrong shape), skipped by a listing."""
        with self._lock:
            self._unreadable_records += 1

    def job_finished(self, state: str) -> None:
        with self._lock:
            self._jobs[state] += 1

    def stage_finished(self, stage: str, status: str, seconds: float) -> None:
        with self._lock:
            self._stage_counts[(stage, status)] += 1
            counts = self._buckets[stage]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self._sums[stage] += seconds

    def render(self, *, unfinished: int | None = None) -> str:
        lines = [
            "# HELP ingest_jobs_total Jobs that ended in this process, by final state.",
            "# TYPE ingest_jobs_total counter",
        ]
        with self._lock:
            lines += [
                f'ingest_jobs_total{{state="{s}"}} {n}' for s, n in sorted(self._jobs.items())
            ]
            lines += [
                "# HELP ingest_stage_runs_total Stage runs in this process, by outcome.",
                "# TYPE ingest_stage_runs_total counter",
            ]
            lines += [
                f'ingest_stage_runs_total{{stage="{st}",status="{ok}"}} {n}'
                for (st, ok), n in sorted(self._stage_counts.items())
            ]
            lines += [
                "# HELP ingest_stage_duration_seconds Wall time of stage runs in this process.",
                "# TYPE ingest_stage_duration_seconds histogram",
            ]
            for stage, counts in sorted(self._buckets.items()):
                for bound, count in zip(BUCKETS, counts, strict=True):
                    le = "+Inf" if bound == float("inf") else f"{bound:g}"
                    lines.append(
                        f'ingest_stage_duration_seconds_bucket{{stage="{stage}",le="{le}"}} {count}'
                    )
                lines.append(
                    f'ingest_stage_duration_seconds_sum{{stage="{stage}"}} {self._sums[stage]:.3f}'
                )
                lines.append(f'ingest_stage_duration_seconds_count{{stage="{stage}"}} {counts[-1]}')
            lines += [
                "# HELP ingest_job_records_unreadable_total Job records this process found "
                "unreadable and skipped (each version counted once).",
                "# TYPE ingest_job_records_unreadable_total counter",
                f"ingest_job_records_unreadable_total {self._unreadable_records}",
            ]
        if unfinished is not None:
            lines += [
                "# HELP ingest_jobs_unfinished Jobs in the bucket not yet finished.",
                "# TYPE ingest_jobs_unfinished gauge",
                f"ingest_jobs_unfinished {unfinished}",
            ]
        return "\n".join(lines) + "\n"


METRICS = Metrics()
