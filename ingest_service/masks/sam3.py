"""The SAM 3 masks backend: text prompts, tracked instances, in overlapping chunks.

Each chunk of frames is one streaming session: its memory grows with every frame it
tracks (about 32 MiB a frame with 8 objects at 1080p, measured), so chunks bound it,
and chunks can run on several GPUs at once. A chunk begins `overlap` frames before the
previous one ends; those frames only re-establish the tracks (and are not written
twice). Each chunk writes the combined masks of its frames to their published keys
and its instances' masks, under its own session ids, to the job's work prefix. Once all
chunks are back, `finalize` matches ids across each seam on the shared frames
(`Stitcher`) and publishes every instance under one plate-wide id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from ingest_service.jobs.results import OutputFile
from ingest_service.masks.stitch import Stitcher
from ingest_service.masks.writer import MaskWriter, encode
from ingest_service.models.catalogue import weights_dir
from ingest_service.models.runtime import pick_runtime
from ingest_service.models.sam3_video import Sam3Video
from ingest_service.settings import Settings
from storage import ObjectStore

MATCH_SIZE = 256  # long side of the copies kept for matching ids across a seam


def load_model(settings: Settings) -> Sam3Video:
    # bfloat16 on a GPU: SAM 3's detector scores overflow float16's range.
    runtime = pick_runtime(settings.model_device, half="bfloat16")
    return Sam3Video.load(weights_dir(settings.models_dir, settings.masks_model), runtime)


def chunk_plan(count: int, chunk: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, first written frame) per chunk; consecutive chunks share `overlap`."""
    plans, start, written = [], 0, 0
    while written < count:
        end = min(count, start + chunk)
        plans.append((start, end, written))
        written, start = end, end - overlap
    return plans


@dataclass
class ChunkTracks:
    start: int
    end: int
    first_written: int
    device: str
    dtype: str
    prompts: dict[int, str] = field(default_factory=dict)  # session id -> prompt
    present: dict[int, list[int]] = field(default_factory=dict)  # session id -> frames
    head: dict[int, dict[int, np.ndarray]] = field(default_factory=dict)  # shared, before
    tail: dict[int, dict[int, np.ndarray]] = field(default_factory=dict)  # shared, after
    files: list[OutputFile] = field(default_factory=list)
    written: dict[str, list[int]] = field(default_factory=dict)
    area: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0  # the worker's time on the chunk: what its GPU is billed for


def _small(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    scale = min(1.0, MATCH_SIZE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0


def instance_key(work: str, start: int, session_id: int, index: int) -> str:
    return f"{work}c{start:06d}/{session_id}/{index:06d}.png"


def track_chunk(
    model: Sam3Video,
    rgb: Callable[[int], np.ndarray],
    labels: dict[str, str],  # prompt -> label folder
    plan: tuple[int, int, int],
    overlap: int,
    writer: MaskWriter,
    work: str,
) -> ChunkTracks:
    start, end, first_written = plan
    clock = time.perf_counter()
    out = ChunkTracks(
        start, end, first_written, model.runtime.device_name, model.runtime.dtype_name
    )
    session = None
    empty = np.zeros((writer.height, writer.width), bool)
    for index in range(start, end):
        image = rgb(index)
        if session is None:
            session = model.start(list(labels), image.shape[0], image.shape[1])
        found = session.track(image)
        out.prompts.update({x.object_id: x.prompt for x in found})
        if index < first_written:  # a shared frame: only for matching ids
            out.head[index] = {x.object_id: _small(x.mask) for x in found}
            continue
        combined = {p: empty.copy() for p in labels}
        for x in found:
            combined[x.prompt] |= x.mask
            writer.store.put(
                instance_key(work, start, x.object_id, index),
                encode(x.mask),
                content_type="image/png",
            )
            out.present.setdefault(x.object_id, []).append(index)
        for prompt, mask in combined.items():
            writer.put(labels[prompt], index, mask)
        if index >= end - overlap:
            out.tail[index] = {x.object_id: _small(x.mask) for x in found}
    out.files, out.area = writer.files, writer.area
    out.written = {folder: sorted(done) for folder, done in writer.written.items()}
    out.seconds = time.perf_counter() - clock
    return out


def finalize(
    chunks: list[ChunkTracks],
    store: ObjectStore,
    writer: MaskWriter,
    labels: dict[str, str],
    work: str,
) -> dict[str, list[int]]:
    """Publish instance masks under plate-wide ids; returns the ids per prompt."""
    stitcher = Stitcher()
    instances: dict[str, list[int]] = {p: [] for p in labels}
    previous_ids: dict[int, int] = {}
    previous_prompts: dict[int, str] = {}
    for k, chunk in enumerate(chunks):
        writer.absorb(chunk.files, chunk.written, chunk.area)
        if k:
            before = chunks[k - 1].tail
            shared = {
                f: {previous_ids[s]: m for s, m in masks.items() if s in previous_ids}
                for f, masks in before.items()
            }
            stitcher.new_chunk(shared, chunk.head, chunk.prompts, previous_prompts)
        ids = {sid: stitcher.plate_id(sid) for sid in sorted(chunk.present)}
        for sid, frames in chunk.present.items():
            prompt, plate_id = chunk.prompts[sid], ids[sid]
            if plate_id not in instances[prompt]:
                instances[prompt].append(plate_id)
            folder = f"{labels[prompt]}/instance-{plate_id:02d}"
            for index in frames:
                data = store.get(instance_key(work, chunk.start, sid, index)).data
                writer.put_encoded(folder, index, data)
        previous_ids = ids
        previous_prompts = {ids[s]: chunk.prompts[s] for s in ids}
    return {p: sorted(v) for p, v in instances.items()}
