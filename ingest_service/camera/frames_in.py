"""Published frames, read back and reduced to 8-bit images at solve resolution."""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import OpenEXR

from ingest_service.errors import CameraSolveError
from ingest_service.jobs.results import OutputFile
from storage import ObjectStore


def to_display_8bit(data: bytes, name: str, scratch: Path) -> np.ndarray:
    """BGR uint8 from PNG (8/16-bit), JPEG or linear EXR bytes."""
    if name.endswith(".exr"):
        fd, path = tempfile.mkstemp(suffix=".exr", dir=scratch)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            with OpenEXR.File(path) as exr:
                rgb = np.asarray(exr.channels()["RGB"].pixels, dtype=np.float32)
        finally:
            Path(path).unlink(missing_ok=True)
        # A simple display curve: features want perceptual contrast, not linear light.
        return (np.clip(rgb[..., ::-1], 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
    image: np.ndarray | None = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise CameraSolveError(f"could not read published frame {name}")
    if image.dtype == np.uint16:
        return (image // 257).astype(np.uint8)
    return image


def stage_frames(
    store: ObjectStore, files: list[OutputFile], folder: Path, *, scale: float, workers: int
) -> list[str]:
    """Write every frame, resized by `scale`, into `folder`; returns the names in order."""
    folder.mkdir(parents=True, exist_ok=True)

    def fetch(entry: OutputFile) -> str:
        name = entry.key.rsplit("/", 1)[-1]
        image = to_display_8bit(store.get(entry.key).data, name, folder)
        if scale != 1.0:
            h, w = image.shape[:2]
            image = cv2.resize(
                image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        # Uncompressed: the solve reads every frame back, and a BMP reads about twenty times
        # faster than even a lightly compressed PNG (2 ms against 35 ms at 960x540).
        out = f"{Path(name).stem}.bmp"
        cv2.imwrite(str(folder / out), image)
        return out

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fetch, files))
