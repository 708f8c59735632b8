"""The SAM 3 masks backend: text prompts, tracked instances, in overlapping chunks.

Each chunk of frames is one streaming session (memory bounded by the chunk, not the
plate). A chunk begins `overlap` frames before the last one ended; those frames only
re-establish the tracks and match their ids to the previous chunk's (`Stitcher`), and
are not written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ingest_service.masks.stitch import Stitcher
from ingest_service.models.sam3_video import Sam3Video

MATCH_SIZE = 256  # long side of the copies kept for matching ids across a seam


@dataclass(frozen=True)
class FrameInstances:
    index: int
    instances: dict[int, tuple[str, np.ndarray]]  # plate-wide id -> (prompt, bool mask)


def _small(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    scale = min(1.0, MATCH_SIZE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0


def track_chunks(
    model: Sam3Video,
    rgb: Callable[[int], np.ndarray],  # frame index -> RGB uint8
    count: int,
    prompts: list[str],
    *,
    chunk: int,
    overlap: int,
) -> Iterator[FrameInstances]:
    stitcher = Stitcher()
    previous: dict[int, dict[int, np.ndarray]] = {}  # shared frames: plate id -> small mask
    previous_prompts: dict[int, str] = {}
    written_to = 0  # frames before this are done
    start = 0
    while written_to < count:
        end = min(count, start + chunk)
        first = rgb(start)
        session = model.start(prompts, first.shape[0], first.shape[1])
        warmup: dict[int, dict[int, np.ndarray]] = {}
        session_prompts: dict[int, str] = {}
        for index in range(start, end):
            image = first if index == start else rgb(index)
            found = session.track(image)
            if index < written_to:  # a shared frame: keep for matching only
                warmup[index] = {x.object_id: _small(x.mask) for x in found}
                session_prompts.update({x.object_id: x.prompt for x in found})
                continue
            if index == written_to and start > 0:
                stitcher.new_chunk(previous, warmup, session_prompts, previous_prompts)
                warmup = {}
            instances = {stitcher.plate_id(x.object_id): (x.prompt, x.mask) for x in found}
            yield FrameInstances(index, instances)
            if index >= end - overlap:
                previous[index] = {pid: _small(m) for pid, (_, m) in instances.items()}
                previous_prompts.update({pid: p for pid, (p, _) in instances.items()})
        written_to = end
        previous = {f: m for f, m in previous.items() if f >= end - overlap}
        start = end - overlap if end < count else end
