"""Published paths stay readable and safe whatever the uploaded key looks like."""

from __future__ import annotations

import pytest

from ingest_service.jobs.naming import MAX_SEGMENT, safe_segment, shot_path, slug
from storage.keys import check_key


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("incoming/show_abc/sq010/sh0040 plate v1.mov", "show_abc/sq010/sh0040_plate_v1"),
        (
            "incoming/A001/A001C003_261121_R1AB (take 2) + été.mxf",
            "A001/A001C003_261121_R1AB_take_2_ete",
        ),
        ("incoming/plate.mov", "plate"),
        ("incoming/../../etc/passwd.mov", "etc/passwd"),
        ("incoming/./a/../b.mov", "a/b"),
        ("incoming/日本語.mov", "untitled"),
        ("other/place/clip.MP4", "other/place/clip"),
        ("incoming/.hidden.mov", "hidden"),
    ],
)
def test_shot_path(key: str, expected: str) -> None:
    assert shot_path(key, "incoming/") == expected


def test_long_names_are_cut_with_a_distinguishing_hash() -> None:
    a = shot_path("incoming/" + "x" * 300 + "_a.mov", "incoming/")
    b = shot_path("incoming/" + "x" * 300 + "_b.mov", "incoming/")
    assert a != b
    assert len(a) <= MAX_SEGMENT
    check_key(f"published/{a}/v001/manifest.json")


def test_deep_keys_keep_the_deepest_folders() -> None:
    key = "incoming/" + "/".join(f"d{i}" for i in range(20)) + "/shot.mov"
    path = shot_path(key, "incoming/")
    assert path.endswith("d19/shot")
    assert path.count("/") < 10


def test_every_generated_path_is_a_valid_key() -> None:
    nasty = ["incoming/" + "é+ /" * 100 + "x.mov", "incoming/..", "incoming/ ", "\x00.mov"]
    for key in nasty:
        check_key(f"published/{shot_path(key, 'incoming/')}/v001/frames/frame.0001.png")


def test_safe_segment_and_slug() -> None:
    assert safe_segment("  --weird__name!!  ") == "weird__name"
    assert slug("show/sq010/SH0040_Plate") == "sh0040_plate"
    assert slug("日本") == "plate"
