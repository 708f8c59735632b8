"""How large a decoded frame may be, decided before any frame is decoded.

A small file can declare enormous frames (a 395 KB H.264 of 16384x8192 frames costs
gigabytes to decode), so the size is read from the container's header and refused there;
FFmpeg's own pixel limit then stops a stream whose frames grow after the header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import av.video.stream

from ingest_service.errors import SourceFrameTooLargeError

if TYPE_CHECKING:
    from ingest_service.settings import Settings


@dataclass(frozen=True, slots=True)
class FrameLimits:
    max_pixels: int
    max_side: int

    @classmethod
    def of(cls, settings: Settings) -> FrameLimits:
        return cls(settings.max_frame_pixels, settings.max_frame_side)

    def check(self, width: int, height: int, name: str) -> None:
        if width * height <= self.max_pixels and max(width, height) <= self.max_side:
            return
        raise SourceFrameTooLargeError(
            f"{name}: its frames are {width}x{height} ({width * height / 1e6:.1f} megapixels), "
            f"over this service's limit of {self.max_pixels / 1e6:.1f} megapixels and "
            f"{self.max_side} pixels a side (INGEST_MAX_FRAME_PIXELS, INGEST_MAX_FRAME_SIDE); "
            "nothing was decoded",
            width=width,
            height=height,
        )

    @property
    def decoder_options(self) -> dict[str, str]:
        """FFmpeg's own limit, for every decoder that opens: opening a container already
        decodes a frame to learn its format, and would allocate a frame of any size."""
        return {"max_pixels": str(self.max_pixels)}

    def guard(self, stream: av.video.stream.VideoStream, name: str) -> None:
        """Refuse the stream's declared size now, and have the decoder refuse a larger
        frame later, before it allocates one."""
        context = stream.codec_context
        if context.width and context.height:
            self.check(context.width, context.height, name)
        context.options = {**context.options, **self.decoder_options}

    def refused(self, stream: av.video.stream.VideoStream, name: str) -> None:
        """After a decode error: raise the size error if a frame over the limit caused it."""
        context = stream.codec_context
        self.check(context.width, context.height, name)
