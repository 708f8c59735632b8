from __future__ import annotations

import cv2
import numpy as np
import OpenEXR
import pytest

from ingest_service.jobs.options import FrameFormat, PngFilter
from ingest_service.media.images import encoder_for, thumbnail

GRADIENT = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (32, 1))
BGR8 = np.dstack([GRADIENT, GRADIENT[:, ::-1], np.full_like(GRADIENT, 128)])


def _encoder(fmt: FrameFormat, bits: int = 8, transfer: str | None = None):  # type: ignore[no-untyped-def]
    return encoder_for(
        fmt, source_bit_depth=bits, source_transfer=transfer, png_compression=3, jpeg_quality=95
    )


def test_png_is_lossless_8_bit() -> None:
    enc = _encoder(FrameFormat.PNG)
    assert (enc.decode_format, enc.bit_depth) == ("bgr24", 8)
    decoded = cv2.imdecode(np.frombuffer(enc.encode(BGR8), np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(decoded, BGR8)


def test_ten_bit_source_gives_sixteen_bit_png() -> None:
    enc = _encoder(FrameFormat.PNG, bits=10)
    assert (enc.decode_format, enc.bit_depth) == ("bgr48le", 16)
    deep = BGR8.astype(np.uint16) * 257
    decoded = cv2.imdecode(np.frombuffer(enc.encode(deep), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, deep)


def test_jpeg_is_close() -> None:
    data = _encoder(FrameFormat.JPEG).encode(BGR8)
    assert data[:2] == b"\xff\xd8"
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(decoded.astype(int) - BGR8).mean() < 3


def test_exr_is_half_float_rgb_and_scene_linear(tmp_path: object) -> None:
    enc = _encoder(FrameFormat.EXR, transfer="bt709")
    assert enc.transfer == "linear"
    deep = BGR8.astype(np.uint16) * 257
    path = f"{tmp_path}/f.exr"
    with open(path, "wb") as fh:
        fh.write(enc.encode(deep))
    with OpenEXR.File(path) as exr:
        rgb = exr.channels()["RGB"].pixels
    assert rgb.dtype == np.float16 and rgb.shape == (32, 64, 3)
    # Input was B = ramp up, G = ramp down, R = 128 constant: output must be in RGB order,
    # and video mid-grey 128/255 undoes the BT.709 curve to about 0.26 linear.
    grey = ((128 / 255 + 0.099) / 1.099) ** (1 / 0.45)
    assert float(rgb[5, 10, 0]) == pytest.approx(grey, abs=2e-3)
    assert float(rgb[0, 0, 1]) == pytest.approx(1.0, abs=1e-3)
    assert float(rgb[0, -1, 2]) == pytest.approx(1.0, abs=1e-3)
    assert float(rgb[0, 0, 2]) == 0.0


def test_unknown_transfer_exr_is_left_as_is_and_says_so() -> None:
    enc = _encoder(FrameFormat.EXR, transfer="pq")
    assert enc.transfer == "pq" and enc.linearise is None


def test_thumbnail_is_small_jpeg_from_sixteen_bit() -> None:
    big = np.zeros((1080, 1920, 3), np.uint16)
    data = thumbnail(big, 480)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (270, 480, 3)


@pytest.mark.parametrize("png_filter", list(PngFilter))
def test_every_png_filter_is_lossless(png_filter: PngFilter) -> None:
    enc = encoder_for(
        FrameFormat.PNG,
        source_bit_depth=8,
        source_transfer=None,
        png_compression=3,
        jpeg_quality=95,
        png_filter=png_filter,
    )
    decoded = cv2.imdecode(np.frombuffer(enc.encode(BGR8), np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(decoded, BGR8)
