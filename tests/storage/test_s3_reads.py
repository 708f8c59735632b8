"""Reads over a real HTTP endpoint whose responses are cut short mid-body."""

from __future__ import annotations

import pytest
from botocore.exceptions import IncompleteReadError

from storage import S3Store, TransientStorageError
from storage.s3_errors import translate
from storage.s3_reader import STREAM_RETRIES
from tests.reliability.faulty_s3 import Fault, FaultyS3

BUCKET = "cut-short"
DATA = bytes(range(256)) * 64


@pytest.fixture
def store(faulty: FaultyS3) -> S3Store:
    store = faulty.store(BUCKET)
    store.put("published/sh0040/v001/manifest.json", DATA)
    return store


def test_get_asks_again_when_the_body_is_cut_short(store: S3Store, faulty: FaultyS3) -> None:
    faulty.force(Fault.TRUNCATE, STREAM_RETRIES - 1, method="GET", path_contains="manifest")
    got = store.get("published/sh0040/v001/manifest.json")
    assert got.data == DATA
    assert got.info.size == len(DATA)
    assert faulty.injected[Fault.TRUNCATE] == STREAM_RETRIES - 1


def test_get_gives_up_with_a_retryable_error(store: S3Store, faulty: FaultyS3) -> None:
    faulty.force(Fault.TRUNCATE, 100, method="GET", path_contains="manifest")
    with pytest.raises(TransientStorageError, match=r"get published/sh0040/v001/manifest\.json"):
        store.get("published/sh0040/v001/manifest.json")
    assert faulty.injected[Fault.TRUNCATE] == STREAM_RETRIES


def test_ranged_reader_asks_again_when_a_block_is_cut_short(
    store: S3Store, faulty: FaultyS3
) -> None:
    info = store.head("published/sh0040/v001/manifest.json")
    faulty.force(Fault.TRUNCATE, STREAM_RETRIES - 1, method="GET", path_contains="manifest")
    with store.open_read("published/sh0040/v001/manifest.json", etag=info.etag) as reader:
        assert reader.read() == DATA
    assert faulty.injected[Fault.TRUNCATE] == STREAM_RETRIES - 1


def test_a_body_shorter_than_its_length_is_transient() -> None:
    exc = IncompleteReadError(actual_bytes=10, expected_bytes=20)
    assert isinstance(translate(exc, key="k", action="get"), TransientStorageError)
