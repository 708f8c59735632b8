"""A still image with a video extension is refused in plain words, whatever its format."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_service.errors import SourceNotVideoError
from ingest_service.media.video import describe, open_video
from tests.ingest_service.media.stills import STILL_FORMATS, render, still_as_mov


def _describe(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh, open_video(fh, path.name) as container:
        return describe(container, path.name)


@pytest.mark.parametrize("fmt", STILL_FORMATS)
def test_a_still_image_named_like_a_plate_is_refused(tmp_path: Path, fmt: str) -> None:
    path = still_as_mov(tmp_path, fmt)
    with pytest.raises(SourceNotVideoError) as refused:
        _describe(path)
    message = str(refused.value)
    assert message.startswith(f"still_{fmt}.mov is not a readable video file")
    assert "single still image" in message


@pytest.mark.parametrize(("name", "options"), [("anim.gif", []), ("clip.mjpeg", ["-f", "mjpeg"])])
def test_moving_pictures_in_image_formats_are_still_footage(
    tmp_path: Path, name: str, options: list[str]
) -> None:
    source = "testsrc2=size=64x48:rate=24:duration=0.25"
    facts = _describe(render(tmp_path / name, source, *options))
    assert (facts.coded_width, facts.coded_height) == (64, 48)
