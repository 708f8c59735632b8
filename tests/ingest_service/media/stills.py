"""Still images and odd streams for the media tests, rendered with the bundled FFmpeg."""

from __future__ import annotations

from pathlib import Path

from ingest_service.samples.plate import _run, ffmpeg_exe

SIZE = "64x48"
# File extension FFmpeg picks the image writer by, for each still format tested.
STILL_FORMATS = ("png", "jpg", "webp", "bmp", "tif", "gif")


def render(path: Path, source: str, *options: str) -> Path:
    """One FFmpeg run from a lavfi source; `options` go between input and output."""
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    _run([*argv, "-i", source, *options, str(path)], 60)
    return path


def still_as_mov(folder: Path, fmt: str) -> Path:
    """A single picture in `fmt`, renamed to look like a plate."""
    image = render(folder / f"still.{fmt}", f"testsrc2=size={SIZE}", "-frames:v", "1")
    return image.rename(folder / f"still_{fmt}.mov")


def growing_h264(folder: Path) -> Path:
    """A raw H.264 stream whose header says 64x48 and whose later frames are 128x96."""
    parts = []
    for size in ("64x48", "128x96"):
        source = f"testsrc2=size={size}:rate=24:duration=0.5"
        options = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "h264"]
        parts.append(render(folder / f"part_{size}.h264", source, *options).read_bytes())
    path = folder / "growing.h264"
    path.write_bytes(b"".join(parts))
    return path
