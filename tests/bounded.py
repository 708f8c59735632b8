"""Hypothesis settings for property tests that run in CI: a bounded number of examples,
the same ones on every run (derandomised, no example database), no per-example deadline
(a shared CI machine is slow now and then, and time is not what these tests check)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
