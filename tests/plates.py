"""Small generated plates, made once per session on demand."""

from __future__ import annotations

import functools
from pathlib import Path

from ingest_service.samples.plate import make_plate, remux


class Plates:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @functools.cached_property
    def h264(self) -> Path:
        """2 s, 24 fps, 320x180 H.264 in a .mov: 48 frames."""
        return make_plate(self.folder / "h264.mov", seconds=2, width=320, height=180)

    @functools.cached_property
    def ntsc(self) -> Path:
        """24000/1001 fps with a start timecode."""
        return make_plate(
            self.folder / "ntsc.mov",
            seconds=1,
            width=320,
            height=180,
            fps="24000/1001",
            timecode="01:02:03:04",
        )

    @functools.cached_property
    def phone(self) -> Path:
        """Stored landscape 320x180, tagged to display rotated 90° (portrait)."""
        return make_plate(
            self.folder / "phone.mp4", seconds=0.5, width=320, height=180, fps="30", rotation=90
        )

    @functools.cached_property
    def prores(self) -> Path:
        """10-bit 4:2:2 ProRes, as camera originals and editorial deliveries are."""
        return make_plate(
            self.folder / "prores.mov", seconds=0.5, width=256, height=144, codec="prores"
        )

    @functools.cached_property
    def faststart_mp4(self) -> Path:
        """The same clip with its index moved to the front, as web uploads often are."""
        return remux(self.h264, self.folder / "faststart.mp4", after=["-movflags", "+faststart"])

    @functools.cached_property
    def truncated(self) -> Path:
        """The index is intact (faststart) but the upload stopped 60 % of the way."""
        return _first_60_percent(self.faststart_mp4, self.folder / "truncated.mp4")

    @functools.cached_property
    def truncated_no_index(self) -> Path:
        """A .mov cut before its index (written last) ever reached the bucket."""
        return _first_60_percent(self.h264, self.folder / "truncated_no_index.mov")

    @functools.cached_property
    def text_as_mov(self) -> Path:
        path = self.folder / "notes.mov"
        path.write_text("shot notes: sh0040 needs a cleanup pass\n" * 20)
        return path

    @functools.cached_property
    def empty(self) -> Path:
        path = self.folder / "empty.mov"
        path.write_bytes(b"")
        return path


def _first_60_percent(source: Path, path: Path) -> Path:
    """What reaches the bucket of an upload that stopped 60 % of the way."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path
