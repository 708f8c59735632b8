"""Image encoders for published sequences: PNG (8/16-bit), JPEG, half-float OpenEXR."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import OpenEXR

from ingest_service.errors import FramesEncodeError
from ingest_service.jobs.options import FrameFormat, PngFilter

PNG_FILTERS = {
    PngFilter.UP: cv2.IMWRITE_PNG_FILTER_UP,
    PngFilter.SUB: cv2.IMWRITE_PNG_FILTER_SUB,
    PngFilter.PAETH: cv2.IMWRITE_PNG_FILTER_PAETH,
    PngFilter.NONE: cv2.IMWRITE_PNG_FILTER_NONE,
    PngFilter.ADAPTIVE: cv2.IMWRITE_PNG_ALL_FILTERS,
}
# Transfer functions whose inverse we apply to make EXR scene-linear.
LINEARISABLE = {None, "bt709", "smpte170m", "bt2020-10", "bt2020-12", "srgb"}


@dataclass(frozen=True, slots=True)
class ImageEncoder:
    """Encodes one decoded frame (HxWx3, BGR order, uint8 or uint16) to file bytes."""

    format: FrameFormat
    extension: str
    media_type: str
    decode_format: str  # the PyAV pixel format to decode into
    bit_depth: int
    transfer: str
    png_compression: int = 3
    png_filter: PngFilter = PngFilter.UP
    jpeg_quality: int = 95
    linearise: str | None = None  # "bt709" or "srgb": the curve to undo for linear EXR
    scratch: Path | None = None

    def encode(self, bgr: np.ndarray) -> bytes:
        if self.format is FrameFormat.EXR:
            return self._encode_exr(bgr)
        params = (
            [
                cv2.IMWRITE_PNG_COMPRESSION,
                self.png_compression,
                cv2.IMWRITE_PNG_FILTER,
                PNG_FILTERS[self.png_filter],
            ]
            if self.format is FrameFormat.PNG
            else [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
        )
        ok, buffer = cv2.imencode(f".{self.extension}", bgr, params)
        if not ok:
            raise FramesEncodeError(f"OpenCV could not encode a {bgr.shape} frame as {self.format}")
        return buffer.tobytes()

    def _encode_exr(self, bgr: np.ndarray) -> bytes:
        rgb = bgr[..., ::-1].astype(np.float32) / float(np.iinfo(bgr.dtype).max)
        if self.linearise is not None:
            rgb = _to_linear(rgb, srgb=self.linearise == "srgb")
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        # OpenEXR writes to a path only; a scratch file keeps memory at one frame.
        fd, name = tempfile.mkstemp(suffix=".exr", dir=self.scratch)
        os.close(fd)
        try:
            with OpenEXR.File(header, {"RGB": np.ascontiguousarray(rgb.astype(np.float16))}) as exr:
                exr.write(name)
            return Path(name).read_bytes()
        finally:
            Path(name).unlink(missing_ok=True)


def _to_linear(v: np.ndarray, *, srgb: bool) -> np.ndarray:
    if srgb:
        return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    # Inverse of the BT.709 OETF (also BT.601 and BT.2020's).
    return np.where(v < 0.081, v / 4.5, ((v + 0.099) / 1.099) ** (1 / 0.45))


def encoder_for(
    fmt: FrameFormat,
    *,
    source_bit_depth: int,
    source_transfer: str | None,
    png_compression: int,
    jpeg_quality: int,
    png_filter: PngFilter = PngFilter.UP,
    scratch: Path | None = None,
) -> ImageEncoder:
    """The encoder for a requested format, keeping high bit depth where the format can."""
    deep = source_bit_depth > 8
    if fmt is FrameFormat.PNG:
        return ImageEncoder(
            fmt,
            "png",
            "image/png",
            "bgr48le" if deep else "bgr24",
            16 if deep else 8,
            source_transfer or "bt709",
            png_compression=png_compression,
            png_filter=png_filter,
        )
    if fmt is FrameFormat.JPEG:
        return ImageEncoder(
            fmt,
            "jpg",
            "image/jpeg",
            "bgr24",
            8,
            source_transfer or "bt709",
            jpeg_quality=jpeg_quality,
        )
    # VFX expects scene-linear EXR: undo the display curve where we know it.
    if source_transfer in LINEARISABLE:
        curve = "srgb" if source_transfer == "srgb" else "bt709"
        return ImageEncoder(
            fmt, "exr", "image/x-exr", "bgr48le", 16, "linear", linearise=curve, scratch=scratch
        )
    return ImageEncoder(
        fmt, "exr", "image/x-exr", "bgr48le", 16, str(source_transfer), scratch=scratch
    )


def thumbnail(bgr: np.ndarray, width: int, quality: int = 85) -> bytes:
    """A small 8-bit JPEG for dashboards and notifications."""
    if bgr.dtype != np.uint8:
        bgr = (bgr >> 8).astype(np.uint8)
    h, w = bgr.shape[:2]
    if w > width:
        bgr = cv2.resize(bgr, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise FramesEncodeError("OpenCV could not encode the thumbnail")
    return buffer.tobytes()
