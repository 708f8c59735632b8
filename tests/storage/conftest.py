"""Fixtures for the storage tests that talk to S3 through the fault-injecting proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.faulty_s3 import FaultyS3


@pytest.fixture
def faulty(moto_server: str) -> Iterator[FaultyS3]:
    with FaultyS3(moto_server) as proxy:
        yield proxy
