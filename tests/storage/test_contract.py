"""One contract, three backends: a folder, S3 in-process (moto) and S3 over HTTP (moto server)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storage import (
    LocalStore,
    ObjectNotFoundError,
    ObjectStore,
    PreconditionFailedError,
    S3Store,
)
from tests.race import race


@pytest.fixture(params=["local", "s3", "s3-http"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "bucket")
    elif request.param == "s3":
        yield request.getfixturevalue("s3_store")
    else:
        yield request.getfixturevalue("http_s3_store")


def test_put_then_get_returns_bytes_and_matching_etag(any_store: ObjectStore) -> None:
    written = any_store.put("a/b.json", b'{"x": 1}', content_type="application/json")
    read = any_store.get("a/b.json")
    assert read.data == b'{"x": 1}'
    assert read.info.etag == written.etag
    assert any_store.head("a/b.json").size == 8


def test_missing_key_is_not_found(any_store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError):
        any_store.get("nope.json")
    with pytest.raises(ObjectNotFoundError):
        any_store.head("nope.json")


def test_create_if_absent_refuses_second_writer(any_store: ObjectStore) -> None:
    any_store.put("claim.json", b"first", if_none_match=True)
    with pytest.raises(PreconditionFailedError):
        any_store.put("claim.json", b"second", if_none_match=True)
    assert any_store.get("claim.json").data == b"first"


def test_compare_and_swap_needs_current_etag(any_store: ObjectStore) -> None:
    v1 = any_store.put("rec.json", b"1")
    v2 = any_store.put("rec.json", b"2", if_match=v1.etag)
    assert v2.etag != v1.etag
    with pytest.raises(PreconditionFailedError):
        any_store.put("rec.json", b"3", if_match=v1.etag)
    assert any_store.get("rec.json").data == b"2"


def test_compare_and_swap_on_missing_key_fails(any_store: ObjectStore) -> None:
    with pytest.raises((ObjectNotFoundError, PreconditionFailedError)):
        any_store.put("never.json", b"x", if_match="0" * 32)


def test_list_is_in_key_order_and_filtered_by_prefix(any_store: ObjectStore) -> None:
    keys = ["p/b", "p/a", "p/c/d", "q/x", "p/é", "p/Z"]
    for key in keys:
        any_store.put(key, key.encode())
    listed = [info.key for info in any_store.list("p/")]
    assert listed == sorted(k for k in keys if k.startswith("p/"))
    assert [i.key for i in any_store.list("p/", start_after="p/b")] == ["p/c/d", "p/é"]
    assert list(any_store.list("nothing/")) == []


def test_list_pages_through_more_than_one_page(any_store: ObjectStore) -> None:
    if isinstance(any_store, S3Store):
        # moto pages at 1000 like S3; 1005 keys force a second request.
        count = 1005
    else:
        count = 50
    for i in range(count):
        any_store.put(f"many/{i:05d}", b"")
    assert sum(1 for _ in any_store.list("many/")) == count


def test_streamed_upload_and_seekable_read(any_store: ObjectStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40_000  # 10 MB: more than one multipart part below
    source = tmp_path / "plate.bin"
    source.write_bytes(data)
    if isinstance(any_store, S3Store):
        any_store.multipart_threshold = any_store.part_size = 5 * 1024 * 1024
    info = any_store.upload("incoming/plate.bin", source, if_none_match=True)
    assert info.size == len(data)
    with any_store.open_read("incoming/plate.bin", etag=info.etag) as reader:
        assert reader.read(10) == data[:10]
        reader.seek(-5, io.SEEK_END)
        assert reader.read() == data[-5:]
        reader.seek(9_000_000)
        assert reader.read(100) == data[9_000_000:9_000_100]


def test_upload_refuses_to_overwrite_when_asked(any_store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "x.mov"
    source.write_bytes(b"abc")
    any_store.upload("incoming/x.mov", source, if_none_match=True)
    source.write_bytes(b"different")
    with pytest.raises(PreconditionFailedError):
        any_store.upload("incoming/x.mov", source, if_none_match=True)
    assert any_store.get("incoming/x.mov").data == b"abc"


def test_pinned_reader_fails_when_object_is_replaced(any_store: ObjectStore) -> None:
    first = any_store.put("incoming/p.mov", b"old content")
    any_store.put("incoming/p.mov", b"new content!")
    with pytest.raises(PreconditionFailedError):
        reader = any_store.open_read("incoming/p.mov", etag=first.etag)
        reader.read()


def test_delete_removes_object(any_store: ObjectStore) -> None:
    any_store.put("published/x/failure.json", b"{}")
    any_store.delete("published/x/failure.json")
    with pytest.raises(ObjectNotFoundError):
        any_store.head("published/x/failure.json")


def test_a_store_serves_the_object_by_url_or_by_local_file(any_store: ObjectStore) -> None:
    any_store.put("published/m.json", b"manifest")
    url = any_store.presign("published/m.json", expires_s=60)
    path = any_store.local_path("published/m.json")
    assert (url is None) != (path is None), "exactly one way to hand the object out"
    if path is not None:
        assert path.read_bytes() == b"manifest"
        assert any_store.local_key(path) == "published/m.json"
    elif url is not None and "127.0.0.1" in url:
        assert httpx.get(url).content == b"manifest"
    else:
        assert "X-Amz-Signature" in url or "Signature" in url


def test_concurrent_creates_have_exactly_one_winner(racing_store: LocalStore) -> None:
    def contend(n: int) -> bool:
        try:
            racing_store.put("race.json", str(n).encode(), if_none_match=True)
        except PreconditionFailedError:
            return False
        return True

    winners = [n for n, won in enumerate(race(8, contend)) if won]
    assert len(winners) == 1
    assert racing_store.get("race.json").data == str(winners[0]).encode()


def test_multipart_upload_refuses_to_overwrite(s3_store: S3Store, tmp_path: Path) -> None:
    s3_store.multipart_threshold = s3_store.part_size = 5 * 1024 * 1024
    source = tmp_path / "big.mov"
    source.write_bytes(b"a" * (11 * 1024 * 1024))
    first = s3_store.upload("incoming/big.mov", source, if_none_match=True)
    assert first.etag.endswith("-3")  # three parts: a real multipart upload
    source.write_bytes(b"b" * (11 * 1024 * 1024))
    with pytest.raises(PreconditionFailedError):
        s3_store.upload("incoming/big.mov", source, if_none_match=True)
    assert s3_store.head("incoming/big.mov").etag == first.etag
    assert s3_store.client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", []) == []
