"""Key rules: a key is refused with `InvalidKeyError`, or it names a file inside the folder."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import InvalidKeyError, LocalStore
from storage.keys import MAX_KEY_BYTES, MAX_SEGMENT_BYTES, check_key
from tests.bounded import BOUNDED

# Segments that are ordinary, dangerous, or at a limit, and arbitrary text besides.
SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "...",
            "incoming",
            "sh0010.mov",
            "été",
            "a\x00b",
            "a\\b",
            "\ud800",
            " ",
            "%2F",
            "x" * MAX_SEGMENT_BYTES,
            "x" * (MAX_SEGMENT_BYTES + 1),
            "é" * 128,  # 256 bytes
        ]
    ),
    st.text(max_size=20),
)
KEYS = st.one_of(
    st.lists(SEGMENTS, min_size=1, max_size=8).map("/".join),
    st.text(max_size=40),
    # Either side of S3's length limit, in segments of the longest a folder can name.
    st.integers(MAX_KEY_BYTES - 8, MAX_KEY_BYTES + 8).map(
        lambda n: ("x" * 200 + "/") * 5 + "y" * (n - 1005)
    ),
)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "empty"),
        ("a/../b", "'..'"),
        ("a//b", "empty"),
        ("./a", "'.'"),
        ("/a", "starts with '/'"),
        ("a\x00", "NUL"),
        ("a\\b", "backslash"),
        ("a/\ud800", "lone surrogate"),
        ("a" * (MAX_KEY_BYTES + 1), f"longer than {MAX_KEY_BYTES} bytes"),
        ("a/" + "é" * 128, f"segment longer than {MAX_SEGMENT_BYTES} bytes"),
    ],
)
def test_each_rule_says_why(key: str, why: str) -> None:
    with pytest.raises(InvalidKeyError, match=why.replace("\\", "\\\\")) as refused:
        check_key(key)
    assert refused.value.key == key


def test_limits_are_inclusive() -> None:
    at_limit = "/".join(["x" * MAX_SEGMENT_BYTES] * 4)
    assert len(at_limit.encode()) == MAX_KEY_BYTES - 4 + 3
    assert check_key(at_limit) == at_limit
    assert check_key("incoming/A001 (take 2) + été.mxf") == "incoming/A001 (take 2) + été.mxf"


@settings(BOUNDED, max_examples=200)
@given(key=KEYS)
def test_a_key_is_refused_or_stays_inside_the_folder(key: str) -> None:
    try:
        assert check_key(key) == key
    except InvalidKeyError:
        return  # the only way a key may be refused
    encoded = key.encode("utf-8")
    assert 0 < len(encoded) <= MAX_KEY_BYTES
    assert "\x00" not in key and "\\" not in key
    assert posixpath.normpath(key) == key and not key.startswith("/")
    assert all(0 < len(s.encode()) <= MAX_SEGMENT_BYTES for s in key.split("/"))


@settings(BOUNDED, max_examples=100)
@given(key=KEYS)
def test_the_folder_store_writes_an_accepted_key_inside_itself_and_nothing_else(
    tmp_path_factory: pytest.TempPathFactory, key: str
) -> None:
    base = tmp_path_factory.mktemp("keys")
    store = LocalStore(base / "bucket")
    try:
        check_key(key)
    except InvalidKeyError:
        with pytest.raises(InvalidKeyError):
            store.put(key, b"x")
        assert _files(base) == set()
        return
    if key.startswith(".localstore"):
        return  # the folder store's own reserved name; refused there, checked in test_local
    store.put(key, b"x")
    assert _files(base) == {base / "bucket" / key}
    assert [info.key for info in store.list()] == [key]


def _files(base: Path) -> set[Path]:
    """Every file under `base` but the folder store's own scratch space."""
    internal = base / "bucket" / ".localstore"
    return {p for p in base.rglob("*") if p.is_file() and not p.is_relative_to(internal)}
