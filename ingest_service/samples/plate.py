"""Synthetic plates for smoke tests, demos and benchmarks, made with the bundled FFmpeg."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg

from ingest_service.errors import IngestError

CODECS: dict[str, list[str]] = {
    "h264": ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"],
    "prores": ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le"],
    "mpeg4": ["-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p"],
}


def ffmpeg_exe() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def make_plate(
    path: Path,
    *,
    seconds: float = 2.0,
    width: int = 640,
    height: int = 360,
    fps: str = "24",
    codec: str = "h264",
    rotation: int = 0,
    timecode: str | None = None,
    pattern: str = "testsrc2",
    timeout_s: float = 600,
) -> Path:
    """Write a test-pattern clip; `rotation` adds a display-rotation tag (as phones do)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A pattern may carry its own options ("color=c=gray"); ours follow theirs.
    joiner = ":" if "=" in pattern else "="
    source = f"{pattern}{joiner}size={width}x{height}:rate={fps}:duration={seconds}"
    encode = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        source,
        *CODECS[codec],
    ]
    if timecode:
        encode += ["-timecode", timecode]
    if not rotation:
        _run([*encode, str(path)], timeout_s)
        return path
    with tempfile.TemporaryDirectory() as tmp:
        unrotated = Path(tmp) / f"unrotated{path.suffix}"
        _run([*encode, str(unrotated)], timeout_s)
        # -display_rotation on a stream copy tags the stream without touching pixels.
        remux(unrotated, path, before=["-display_rotation", str(rotation)], timeout_s=timeout_s)
    return path


def remux(
    source: Path,
    target: Path,
    *,
    before: list[str] | None = None,
    after: list[str] | None = None,
    timeout_s: float = 600,
) -> Path:
    """Copy the streams into a new container; `before`/`after` are input/output options."""
    argv = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *(before or []),
        "-i",
        str(source),
        "-c",
        "copy",
        *(after or []),
        str(target),
    ]
    _run(argv, timeout_s)
    return target


def _run(argv: list[str], timeout_s: float) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise IngestError(f"ffmpeg did not finish within {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace")[-2000:]
        raise IngestError(f"ffmpeg failed ({done.returncode}): {tail}")
