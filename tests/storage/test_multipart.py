"""Multipart uploads: whole or not at all, and never over an existing object."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import InvalidKeyError, LocalStore, ObjectNotFoundError, PreconditionFailedError
from storage.multipart import LocalMultipart, Part


@pytest.fixture
def uploads(tmp_path: Path) -> LocalMultipart:
    return LocalMultipart(LocalStore(tmp_path / "bucket"))


def test_parts_join_in_order_into_one_object(uploads: LocalMultipart) -> None:
    upload = uploads.start("incoming/a.mov", "video/quicktime")
    second = uploads.put_part(upload, 2, b"world")
    first = uploads.put_part(upload, 1, b"hello ")
    with pytest.raises(ObjectNotFoundError):
        uploads.store.head("incoming/a.mov")  # nothing visible until completed
    info = uploads.complete("incoming/a.mov", upload, [Part(1, first), Part(2, second)])
    assert uploads.store.get("incoming/a.mov").data == b"hello world"
    assert info.size == 11
    with pytest.raises(ObjectNotFoundError):  # the upload is gone once complete
        uploads.put_part(upload, 3, b"late")


def test_a_part_changed_since_its_etag_or_never_sent_fails_the_upload(
    uploads: LocalMultipart,
) -> None:
    upload = uploads.start("incoming/b.mov")
    etag = uploads.put_part(upload, 1, b"one")
    current = uploads.put_part(upload, 1, b"ONE")  # sent again, differently
    with pytest.raises(PreconditionFailedError, match="ETag"):
        uploads.complete("incoming/b.mov", upload, [Part(1, etag)])
    with pytest.raises(PreconditionFailedError, match="part 2 was never uploaded"):
        uploads.complete("incoming/b.mov", upload, [Part(1, current), Part(2, '"x"')])
    with pytest.raises(InvalidKeyError, match="ascending"):
        uploads.complete("incoming/b.mov", upload, [Part(2, etag), Part(1, etag)])
    with pytest.raises(ObjectNotFoundError, match="is for"):
        uploads.complete("incoming/other.mov", upload, [Part(1, etag)])


def test_an_existing_object_is_never_replaced(uploads: LocalMultipart) -> None:
    uploads.store.put("incoming/c.mov", b"original")
    upload = uploads.start("incoming/c.mov")
    etag = uploads.put_part(upload, 1, b"impostor")
    with pytest.raises(PreconditionFailedError):
        uploads.complete("incoming/c.mov", upload, [Part(1, etag)])
    assert uploads.store.get("incoming/c.mov").data == b"original"


def test_upload_ids_cannot_reach_outside_the_uploads_folder(uploads: LocalMultipart) -> None:
    for bad in ("../../etc", "0" * 31, "x" * 32):
        with pytest.raises(ObjectNotFoundError):
            uploads.put_part(bad, 1, b"x")
    upload = uploads.start("incoming/d.mov")
    uploads.abort("incoming/d.mov", upload)
    with pytest.raises(ObjectNotFoundError):
        uploads.put_part(upload, 1, b"x")
