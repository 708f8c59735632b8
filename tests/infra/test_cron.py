"""A cron schedule's period: what the poller's timing on Modal is derived from."""

from __future__ import annotations

import pytest

from infra.cron import period_s


@pytest.mark.parametrize(
    ("schedule", "minutes"),
    [
        ("*/5 * * * *", 5),
        ("* * * * *", 1),
        ("15,45 * * * *", 30),
        ("0 * * * *", 60),
        ("0 */6 * * *", 6 * 60),
        ("0 3 * * *", 24 * 60),
        ("30 9 * * 1-5", 24 * 60),  # weekdays: the shortest gap is a day
        ("0 0 1 * *", 28 * 24 * 60),  # monthly: February
    ],
)
def test_period_is_the_shortest_gap_between_runs(schedule: str, minutes: int) -> None:
    assert period_s(schedule) == minutes * 60


@pytest.mark.parametrize("schedule", ["*/5 * * *", "61 * * * *", "0 0 31 2 *"])
def test_a_schedule_that_is_not_one_is_refused(schedule: str) -> None:
    with pytest.raises(ValueError, match=r"cron|twice"):
        period_s(schedule)
