"""Probing real encoded files: exact rates, rotation tags, timecode, bit depth, bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ingest_service.errors import FramesDecodeError, SourceNotVideoError
from ingest_service.media.video import decode_frames, describe, open_video
from ingest_service.samples.plate import _run, ffmpeg_exe
from tests.plates import Plates


def _describe(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh, open_video(fh, path.name) as container:
        return describe(container, path.name)


def test_h264_facts(plates: Plates) -> None:
    facts = _describe(plates.h264)
    assert facts.codec == "h264"
    assert facts.fps == Fraction(24)
    assert facts.frame_count == 48 and facts.frame_count_exact
    assert (facts.coded_width, facts.coded_height) == (320, 180)
    assert facts.rotation == 0
    assert facts.bit_depth == 8
    assert facts.duration_s == pytest.approx(2.0, abs=0.05)


def test_ntsc_rate_is_exact_and_timecode_is_read(plates: Plates) -> None:
    facts = _describe(plates.ntsc)
    assert facts.fps == Fraction(24000, 1001)
    assert facts.timecode == "01:02:03:04"


def test_phone_rotation_tag_gives_portrait_display_size(plates: Plates) -> None:
    facts = _describe(plates.phone)
    assert facts.rotation == 90
    assert (facts.coded_width, facts.coded_height) == (320, 180)
    assert facts.display_size == (180, 320)


def test_prores_is_ten_bit(plates: Plates) -> None:
    facts = _describe(plates.prores)
    assert facts.codec == "prores"
    assert facts.bit_depth == 10


def test_rotated_frames_match_ffmpegs_own_autorotation(plates: Plates, tmp_path: Path) -> None:
    reference = tmp_path / "ref.rgb"
    _run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-i",
            str(plates.phone),
            "-frames:v",
            "1",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            str(reference),
        ],
        60,
    )
    with plates.phone.open("rb") as fh, open_video(fh, "phone") as container:
        first = next(decode_frames(container, pixel_format="rgb24", rotation=90, name="phone"))
    assert first.shape == (320, 180, 3)
    expected = np.fromfile(reference, np.uint8).reshape(320, 180, 3)
    assert np.abs(first.astype(int) - expected).mean() < 2.0


@pytest.mark.parametrize("name", ["text_as_mov", "empty", "truncated_no_index"])
def test_non_video_is_refused_in_plain_words(plates: Plates, name: str) -> None:
    path: Path = getattr(plates, name)
    with (
        pytest.raises(SourceNotVideoError, match="not a readable video"),
        path.open("rb") as fh,
        open_video(fh, path.name),
    ):
        pass


def test_truncated_file_decodes_short_of_its_index(plates: Plates) -> None:
    """The demuxer stops quietly at the cut: only the index's frame count gives it away,
    which is why the frames stage compares the two (see tests/ingest_service/test_pipeline.py)."""
    with plates.truncated.open("rb") as fh, open_video(fh, "t.mp4") as container:
        facts = describe(container, "t.mp4")
    with plates.truncated.open("rb") as fh, open_video(fh, "t.mp4") as container:
        try:
            decoded = sum(
                1 for _ in decode_frames(container, pixel_format="bgr24", rotation=0, name="t")
            )
        except FramesDecodeError:
            decoded = -1
    assert facts.frame_count_exact and facts.frame_count == 48
    assert decoded < 48
