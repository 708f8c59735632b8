"""Synthetic plates for the quickstart, tests and benchmarks: a test pattern, or a
rendered room seen by a known camera."""
