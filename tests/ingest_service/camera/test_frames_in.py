"""Frames in any published format come back as 8-bit images for the solver."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest_service.camera.frames_in import to_display_8bit
from ingest_service.jobs.options import FrameFormat
from ingest_service.media.images import encoder_for

RAMP = np.dstack([np.tile(np.linspace(0, 65535, 32, dtype=np.uint16), (16, 1))] * 3)


def _encoded(fmt: FrameFormat) -> bytes:
    enc = encoder_for(
        fmt, source_bit_depth=10, source_transfer="bt709", png_compression=1, jpeg_quality=95
    )
    image = RAMP if enc.decode_format.endswith("48le") else (RAMP // 257).astype(np.uint8)
    return enc.encode(image)


def test_sixteen_bit_png_and_jpeg(tmp_path: Path) -> None:
    png = to_display_8bit(_encoded(FrameFormat.PNG), "frame.0001.png", tmp_path)
    assert png.dtype == np.uint8
    assert png.shape == (16, 32, 3)
    assert (int(png[0, 0, 0]), int(png[0, -1, 0])) == (0, 255)
    jpg = to_display_8bit(_encoded(FrameFormat.JPEG), "frame.0001.jpg", tmp_path)
    assert jpg.dtype == np.uint8


def test_linear_exr_gets_a_display_curve(tmp_path: Path) -> None:
    image = to_display_8bit(_encoded(FrameFormat.EXR), "frame.0001.exr", tmp_path)
    assert image.dtype == np.uint8
    assert image.shape == (16, 32, 3)
    assert int(image[0, -1, 0]) == 255
    # Mid-grey video undone to linear, then a 2.2 display curve: near, not at, the middle.
    assert 100 < int(image[0, 16, 0]) < 160
    assert list((tmp_path).iterdir()) == []  # no scratch files left
