"""Depth files: float32 OpenEXR (channel Z), a 16-bit PNG preview, an 8-bit confidence PNG."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import OpenEXR


def depth_exr(depth: np.ndarray, scratch: Path) -> bytes:
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    fd, name = tempfile.mkstemp(suffix=".exr", dir=scratch)
    os.close(fd)
    try:
        with OpenEXR.File(header, {"Z": np.ascontiguousarray(depth, dtype=np.float32)}) as exr:
            exr.write(name)
        return Path(name).read_bytes()
    finally:
        Path(name).unlink(missing_ok=True)


def read_depth_exr(data: bytes, scratch: Path) -> np.ndarray:
    fd, name = tempfile.mkstemp(suffix=".exr", dir=scratch)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        with OpenEXR.File(name) as exr:
            return np.array(exr.channels()["Z"].pixels, dtype=np.float32)
    finally:
        Path(name).unlink(missing_ok=True)


def preview_png(depth: np.ndarray, near: float, far: float) -> bytes:
    """Inverse depth mapped so near is white and far is black, as depth previews read."""
    inverse = (1.0 / np.maximum(depth, 1e-9) - 1.0 / far) / (1.0 / near - 1.0 / far)
    ok, buffer = cv2.imencode(".png", (np.clip(inverse, 0, 1) * 65535).astype(np.uint16))
    assert ok
    return buffer.tobytes()


def confidence_png(confidence: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", (np.clip(confidence, 0, 1) * 255).astype(np.uint8))
    assert ok
    return buffer.tobytes()
