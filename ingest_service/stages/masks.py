"""masks: 8-bit mattes per label, `masks/<label>/mask.####.png` (255 = inside).

`classical` (the default, no weights) finds what moves on its own against the solved
camera and depth, in one `moving` sequence; it cannot read prompts and the manifest
says so. It works in the depth's undistorted geometry when the lens distorts, and puts
the lens back (nearest neighbour), so its masks line up with the plate as SAM 3's do.
`sam3` runs SAM 3 with the plate's text prompts: per prompt a combined mask and one
sequence per tracked instance (`masks/<label>/instance-NN/`).
"""

from __future__ import annotations

import cv2
import numpy as np

from ingest_service.camera.frames_in import to_display_8bit
from ingest_service.camera.pinhole_frames import PinholeFrames
from ingest_service.camera.rejected import load_rejected
from ingest_service.camera.solution import CameraSolution, SolveKind
from ingest_service.errors import MasksUnavailableError
from ingest_service.jobs.options import MasksBackend
from ingest_service.jobs.results import (
    CameraResult,
    DepthResult,
    FramesResult,
    MaskLabel,
    MasksResult,
    OutputFile,
)
from ingest_service.jobs.states import StageName, StageStatus
from ingest_service.jobs.work_area import clear
from ingest_service.masks.classical import LABEL, moving_masks
from ingest_service.masks.sam3 import ChunkTracks, chunk_plan, finalize, load_model, track_chunk
from ingest_service.masks.writer import MaskWriter, label_for
from ingest_service.stages.base import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    frames = ctx.result(StageName.FRAMES, FramesResult)
    files = sorted(frames.files, key=lambda f: f.frame or 0)
    writer = _writer(ctx, frames)
    ctx.progress.started("masks", len(files), "frames")
    if ctx.job.options.masks_backend is MasksBackend.SAM3:
        return _sam3(ctx, files, writer)
    return _classical(ctx, files, writer)


def _classical(ctx: StageContext, files: list[OutputFile], writer: MaskWriter) -> StageOutput:
    depth_run = ctx.job.stages.get(StageName.DEPTH)
    if depth_run is None or depth_run.status is not StageStatus.DONE:
        raise MasksUnavailableError(
            "classical masks need this plate's solved camera and depth, and depth did not "
            "run or failed (a locked-off or nodal camera has none); use the sam3 backend"
        )
    camera = ctx.result(StageName.CAMERA, CameraResult)
    depth = ctx.result(StageName.DEPTH, DepthResult)
    keys = {f.key.rsplit("/", 1)[-1]: f.key for f in camera.files}
    solution = CameraSolution.model_validate_json(ctx.store.get(keys["camera.json"]).data)
    if solution.kind is not SolveKind.FULL:
        raise MasksUnavailableError("classical masks need a camera that moves through space")
    depths = sorted((f for f in depth.files if f.role == "depth"), key=lambda f: f.frame or 0)
    size = (writer.width, writer.height)
    frames = PinholeFrames(ctx.store, files, solution, ctx.scratch)
    rejected = load_rejected(ctx.store, camera)
    masks = moving_masks(ctx, frames, depths, ctx.settings.depth_max_image_size, rejected)
    for index, mask in masks:
        full = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_LINEAR)
        writer.put(LABEL, index, frames.plate_lens.to_plate(full) > 0)
        ctx.progress.advanced()
    prompts = ctx.job.options.mask_prompts
    result = MasksResult(
        backend="moving-objects (classical)",
        prompts=prompts,
        prompts_honoured=False,
        note=(
            "the classical backend masks whatever moves independently of the camera; "
            "it cannot read prompts, so " + ", ".join(repr(p) for p in prompts) + " were not used"
            if prompts
            else "the classical backend masks whatever moves independently of the camera"
        ),
        labels=[
            MaskLabel(
                label=LABEL,
                prompt=None,
                combined=writer.complete(LABEL),
                coverage=writer.coverage(LABEL),
            )
        ],
        files=writer.files,
    )
    parameters = {
        "backend": "classical",
        "working_size": ctx.settings.depth_max_image_size,
        "geometry": "plate",  # measured undistorted when the lens distorts, then put back
        "undistorted_to_measure": frames.plate_lens.distorted,
        # Observations of tracks the camera solve rejected as moving (None: it published
        # none): blobs holding them are kept even when small or along the frame's edge.
        "rejected_tracks": None
        if rejected is None
        else sum(len(f.moving) for f in rejected.frames),
    }
    return StageOutput(result=result, backend=result.backend, parameters=parameters)


def _writer(ctx: StageContext, frames: FramesResult) -> MaskWriter:
    files = frames.files
    first = min(f.frame or 1 for f in files)
    return MaskWriter(
        ctx.store,
        f"{ctx.output_prefix}masks/",
        first=first,
        count=len(files),
        width=frames.sequence.width,
        height=frames.sequence.height,
    )


def sam3_labels(prompts: list[str]) -> dict[str, str]:
    taken: set[str] = set()
    return {p: label_for(p, taken) for p in dict.fromkeys(prompts)}


def sam3_chunk(ctx: StageContext, plan: tuple[int, int, int]) -> ChunkTracks:
    """One chunk's tracking, in this process: what a GPU worker runs for its share."""
    frames = ctx.result(StageName.FRAMES, FramesResult)
    files = sorted(frames.files, key=lambda f: f.frame or 0)

    def rgb(i: int) -> np.ndarray:
        bgr = to_display_8bit(ctx.store.get(files[i].key).data, files[i].key, ctx.scratch)
        out: np.ndarray = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return out

    settings = ctx.settings
    work = settings.layout.work(ctx.job.job_id) + "masks/"
    return track_chunk(
        load_model(settings),
        rgb,
        sam3_labels(ctx.job.options.mask_prompts),
        plan,
        settings.masks_chunk_overlap,
        _writer(ctx, frames),
        work,
    )


def _sam3(ctx: StageContext, files: list[OutputFile], writer: MaskWriter) -> StageOutput:
    settings = ctx.settings
    prompts = ctx.job.options.mask_prompts
    if not prompts:
        raise MasksUnavailableError("the sam3 masks backend needs at least one text prompt")
    labels = sam3_labels(prompts)
    plans = chunk_plan(len(files), settings.masks_chunk_frames, settings.masks_chunk_overlap)
    work = settings.layout.work(ctx.job.job_id) + "masks/"
    clear(ctx.store, work)  # what an interrupted attempt left
    if ctx.fanout is None:
        load_model(settings)  # a missing model fails before any frame is read
        chunks = []
        for plan in plans:
            chunks.append(sam3_chunk(ctx, plan))
            for _ in range(plan[1] - plan[2]):
                ctx.progress.advanced()
            ctx.check()
    else:
        chunks = ctx.fanout.mask_chunks(ctx.job.job_id, plans)
        for _ in files:
            ctx.progress.advanced()
    instances = finalize(chunks, ctx.store, writer, labels, work)
    clear(ctx.store, work)
    device, dtype = chunks[0].device, chunks[0].dtype
    result = MasksResult(
        backend=f"sam3-video ({settings.masks_model}, {dtype})",
        prompts=prompts,
        prompts_honoured=True,
        labels=[
            MaskLabel(
                label=label,
                prompt=prompt,
                combined=writer.complete(label),
                instances=[writer.complete(f"{label}/instance-{i:02d}") for i in instances[prompt]],
                coverage=writer.coverage(label),
            )
            for prompt, label in labels.items()
        ],
        files=writer.files,
    )
    parameters = {
        "backend": "sam3",
        "model": settings.masks_model,
        "device": device,
        "dtype": dtype,
        "chunk_frames": settings.masks_chunk_frames,
        "chunk_overlap": settings.masks_chunk_overlap,
        "chunks": len(plans),
    }
    gpu_seconds = sum(c.seconds for c in chunks) if device != "cpu" else None
    return StageOutput(
        result=result,
        backend=result.backend,
        parameters=parameters,
        device=device,
        gpu_seconds=gpu_seconds,
    )
