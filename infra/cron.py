"""How often a cron schedule fires: the poller's timing on Modal follows its schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

# Minute, hour, day of month, month, day of week (0 = Sunday; 7 is Sunday too).
FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
# Long enough that every day of the week meets every day of the month at least once.
SPAN = timedelta(days=366 + 7)


def _values(field: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            start, stop = low, high
        elif "-" in span:
            start, stop = (int(v) for v in span.split("-", 1))
        else:
            start = int(span)
            stop = high if step else start
        if not low <= start <= stop <= high:
            raise ValueError(f"cron field {field!r} is outside {low}-{high}")
        values.update(range(start, stop + 1, int(step or 1)))
    return values


def period_s(schedule: str, *, start: datetime | None = None) -> float:
    """The shortest gap, in seconds, between two runs of a five-field cron schedule."""
    fields = schedule.split()
    if len(fields) != len(FIELDS):
        raise ValueError(f"a cron schedule has five fields, not {schedule!r}")
    minute, hour, day, month, weekday = (
        _values(f, lo, hi) for f, (lo, hi) in zip(fields, FIELDS, strict=True)
    )
    weekday = {d % 7 for d in weekday}
    # cron's rule: with both day fields restricted, a day matching either one runs.
    both = fields[2] != "*" and fields[4] != "*"
    t = start or datetime(2026, 1, 1)
    runs: list[datetime] = []
    end = t + SPAN
    while t < end and len(runs) < 10_000:
        on_day = t.day in day, (t.isoweekday() % 7) in weekday
        if t.month in month and (any(on_day) if both else all(on_day)):
            runs += [t.replace(hour=h, minute=m) for h in sorted(hour) for m in sorted(minute)]
        t += timedelta(days=1)
    if len(runs) < 2:
        raise ValueError(f"{schedule!r} runs less than twice a year")
    return min((b - a).total_seconds() for a, b in pairwise(runs))
