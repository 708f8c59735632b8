"""Opening, describing and decoding video with PyAV (FFmpeg's libraries, in process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import av
import av.container
import numpy as np
from av.video.frame import VideoFrame
from av.video.reformatter import ColorRange, Colorspace

from ingest_service.errors import FramesDecodeError, SourceNotVideoError
from ingest_service.media.limits import FrameLimits

# FFmpeg's enum values (AVColorPrimaries, AVColorTransferCharacteristic, AVColorSpace).
PRIMARIES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020", 11: "dci-p3", 12: "display-p3"}
TRANSFERS = {
    1: "bt709",
    6: "smpte170m",
    8: "linear",
    13: "srgb",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "pq",
    18: "hlg",
}
MATRICES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020nc", 10: "bt2020c"}
_SWS_MATRIX = {
    1: Colorspace.ITU709,
    5: Colorspace.ITU601,
    6: Colorspace.ITU601,
    7: Colorspace.SMPTE240M,
    9: Colorspace.BT2020,
    10: Colorspace.BT2020,
}
IO_BUFFER = 1 << 20
# Readers of formats that hold an animation or a single picture alike.
ANIMATED_IMAGE_FORMATS = {"gif", "apng", "mjpeg", "webp"}
IMAGE_CODECS = {"mjpeg": "JPEG", "jpegls": "JPEG-LS", "jpeg2000": "JPEG 2000"}


@dataclass(frozen=True, slots=True)
class VideoFacts:
    container: str
    codec: str
    profile: str | None
    pixel_format: str
    bit_depth: int
    coded_width: int
    coded_height: int
    rotation: int
    pixel_aspect: Fraction
    fps: Fraction
    frame_count: int
    frame_count_exact: bool
    duration_s: float
    timecode: str | None
    color_primaries: str | None
    color_transfer: str | None
    color_space: str | None
    has_audio: bool

    @property
    def display_size(self) -> tuple[int, int]:
        if self.rotation in (90, 270):
            return self.coded_height, self.coded_width
        return self.coded_width, self.coded_height


@contextmanager
def open_video(
    reader: BinaryIO, name: str, limits: FrameLimits | None = None
) -> Iterator[av.container.InputContainer]:
    """Open a container from any seekable reader; non-video input gets a plain-words error.

    With `limits`, frames over them are refused from the header, before any decode.
    """
    try:
        options = limits.decoder_options if limits is not None else None
        container = av.open(reader, mode="r", buffer_size=IO_BUFFER, options=options)
    except (av.FFmpegError, OSError) as exc:
        # An empty input surfaces as a bare EINVAL OSError rather than an FFmpeg error.
        said = exc.strerror or exc
        raise SourceNotVideoError(
            f"{name} is not a readable video file: FFmpeg says {said} "
            "(a text or image file with a video extension, or an upload cut short "
            "before the file's index was written)"
        ) from exc
    try:
        if not container.streams.video:
            raise SourceNotVideoError(f"{name} has no video stream")
        if _image_reader(container.format.name):
            raise _still_image(name, container)
        if limits is not None:
            limits.guard(container.streams.video[0], name)
        yield container
    finally:
        container.close()


def _image_reader(format_name: str) -> bool:
    """FFmpeg's still-image demuxers (png_pipe, jpeg_pipe, image2, ...): one picture each."""
    return format_name in ("image2", "image2pipe") or format_name.endswith("_pipe")


def _still_image(name: str, container: av.container.InputContainer) -> SourceNotVideoError:
    codec = container.streams.video[0].codec_context.name
    kind = IMAGE_CODECS.get(codec, codec.upper())
    return SourceNotVideoError(
        f"{name} is not a readable video file: it is a single still image ({kind}) with a "
        "video extension. Upload the plate as a video file; an image sequence must be "
        "encoded to a video first"
    )


def rotation_of(frame: VideoFrame) -> int:
    """Counter-clockwise degrees from the display matrix, snapped to a quarter turn."""
    return round(float(frame.rotation) / 90.0) % 4 * 90


def describe(
    container: av.container.InputContainer, name: str, limits: FrameLimits | None = None
) -> VideoFacts:
    """Container and codec facts, checked by decoding the first frame."""
    stream = container.streams.video[0]
    frames = container.decode(stream)
    try:
        first = next(frames)
    except (StopIteration, av.FFmpegError) as exc:
        if limits is not None:
            limits.refused(stream, name)
        raise SourceNotVideoError(f"{name}: the video stream has no decodable frame") from exc
    # GIF, APNG and raw MJPEG readers also take a lone picture: one frame is a still.
    if container.format.name in ANIMATED_IMAGE_FORMATS and _alone(frames):
        raise _still_image(name, container)
    fps = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not fps:
        raise SourceNotVideoError(f"{name}: the video stream has no frame rate")
    fps = Fraction(fps)
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    else:
        duration = (container.duration or 0) / av.time_base
    exact = bool(stream.frames)
    count = stream.frames if exact else round(duration * fps)
    fmt = av.VideoFormat(first.format.name)
    sar = stream.sample_aspect_ratio
    return VideoFacts(
        container=container.format.name,
        codec=stream.codec_context.name,
        profile=stream.profile,
        pixel_format=first.format.name,
        bit_depth=max(c.bits for c in fmt.components),
        coded_width=first.width,
        coded_height=first.height,
        rotation=rotation_of(first),
        pixel_aspect=Fraction(sar) if sar else Fraction(1),
        fps=fps,
        frame_count=count,
        frame_count_exact=exact,
        duration_s=duration,
        timecode=_timecode(container),
        color_primaries=PRIMARIES.get(int(first.color_primaries)),
        color_transfer=TRANSFERS.get(int(first.color_trc)),
        color_space=MATRICES.get(int(first.colorspace)),
        has_audio=bool(container.streams.audio),
    )


def _alone(frames: Iterator[VideoFrame]) -> bool:
    """Whether the first frame was the last one (a broken second frame is the frames
    stage's to report)."""
    try:
        return next(frames, None) is None
    except av.FFmpegError:
        return False


def _timecode(container: av.container.InputContainer) -> str | None:
    for source in [container.streams.video[0], *container.streams, container]:
        timecode = source.metadata.get("timecode")
        if timecode:
            return str(timecode)
    return None


def decode_frames(
    container: av.container.InputContainer,
    *,
    pixel_format: str,
    rotation: int,
    name: str,
    limits: FrameLimits | None = None,
) -> Iterator[np.ndarray]:
    """Frames as HxWxC arrays in display orientation, one at a time (memory stays flat)."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    decoded = 0
    try:
        for frame in container.decode(stream):
            array: np.ndarray = frame.to_ndarray(
                format=pixel_format,
                src_colorspace=_matrix(frame),
                src_color_range=_range(frame),
                dst_color_range=ColorRange.JPEG,
            )
            if rotation:
                array = np.ascontiguousarray(np.rot90(array, k=rotation // 90))
            decoded += 1
            yield array
    except av.FFmpegError as exc:
        if limits is not None:
            limits.refused(stream, name)  # a frame grew past the header's size
        raise FramesDecodeError(
            f"{name}: decoding stopped after {decoded} frames: FFmpeg says "
            f"{exc.strerror or exc} (truncated or corrupt file)"
        ) from exc


def _matrix(frame: VideoFrame) -> Colorspace:
    # Untagged footage: HD and up is BT.709 in practice, SD is BT.601 (as players assume).
    tagged = _SWS_MATRIX.get(int(frame.colorspace))
    if tagged is not None:
        return tagged
    return Colorspace.ITU709 if frame.height >= 720 else Colorspace.ITU601


def _range(frame: VideoFrame) -> ColorRange:
    if int(frame.color_range) == ColorRange.JPEG or frame.format.name.startswith(
        ("yuvj", "gbr", "rgb", "bgr")
    ):
        return ColorRange.JPEG
    return ColorRange.MPEG
