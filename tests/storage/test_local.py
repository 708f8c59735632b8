"""What only the folder backend needs: keys must never escape the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage import BucketNotFoundError, InvalidKeyError, LocalStore, ObjectNotFoundError


@pytest.mark.parametrize(
    "key",
    [
        "../escape.mov",
        "incoming/../../etc/passwd",
        "/abs/path.mov",
        "a//b.mov",
        "a/./b",
        "folder/",
        "",
        "nul\x00.mov",
        ".localstore/tmp/x",
    ],
)
def test_unsafe_keys_are_refused(local_store: LocalStore, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        local_store.put(key, b"x")
    assert not (local_store.root.parent / "escape.mov").exists()


def test_unicode_spaces_and_plus_are_kept_verbatim(local_store: LocalStore) -> None:
    key = "incoming/A001 (take 2) + été.mxf"
    local_store.put(key, b"x")
    assert (local_store.root / "incoming" / "A001 (take 2) + été.mxf").read_bytes() == b"x"
    assert [i.key for i in local_store.list("incoming/")] == [key]


def test_etag_changes_when_a_file_is_replaced_by_hand(local_store: LocalStore) -> None:
    path = local_store.root / "incoming" / "plate.mov"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"take 1")
    first = local_store.head("incoming/plate.mov").etag
    assert local_store.head("incoming/plate.mov").etag == first  # stable while unchanged
    tmp = path.with_name("plate.tmp")
    tmp.write_bytes(b"take 2")
    os.replace(tmp, path)
    assert local_store.head("incoming/plate.mov").etag != first


def test_internal_folder_is_not_listed(local_store: LocalStore) -> None:
    local_store.put("a.json", b"{}")
    local_store.put("a.json", b"{}", if_match=local_store.head("a.json").etag)
    assert [i.key for i in local_store.list()] == ["a.json"]


def test_no_temp_files_are_left_behind(local_store: LocalStore) -> None:
    local_store.put("x.json", b"1")
    with pytest.raises(Exception):  # noqa: B017, PT011 - whichever error, no leftovers
        local_store.put("x.json", b"2", if_none_match=True)
    assert list((local_store.root / ".localstore" / "tmp").iterdir()) == []


def test_directories_are_not_objects(local_store: LocalStore) -> None:
    local_store.put("dir/file", b"x")
    with pytest.raises(ObjectNotFoundError):
        local_store.head("dir")


def test_missing_root_without_create(tmp_path: Path) -> None:
    with pytest.raises(BucketNotFoundError):
        LocalStore(tmp_path / "absent", create=False)
