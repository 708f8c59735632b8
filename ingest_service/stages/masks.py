"""masks: 8-bit mattes per label, `masks/<label>/mask.####.png` (255 = inside).

`classical` (the default, no weights) finds what moves on its own against the solved
camera and depth, in one `moving` sequence; it cannot read prompts and the manifest
says so. `sam3` runs SAM 3 with the plate's text prompts: per prompt a combined mask
and one sequence per tracked instance (`masks/<label>/instance-NN/`).
"""

from __future__ import annotations

import cv2
import numpy as np

from ingest_service.camera.frames_in import to_display_8bit
from ingest_service.camera.solution import CameraSolution, SolveKind
from ingest_service.errors import MasksUnavailableError
from ingest_service.job_states import StageStatus
from ingest_service.masks.classical import LABEL, moving_masks
from ingest_service.masks.writer import MaskWriter, label_for
from ingest_service.settings import MasksBackend
from ingest_service.stage_results import (
    CameraResult,
    DepthResult,
    FramesResult,
    MaskLabel,
    MasksResult,
    OutputFile,
)
from ingest_service.stages.base import StageContext, StageOutput


def needs(backend: MasksBackend) -> tuple[str, ...]:
    """The stages a backend reads: the classical one needs the camera and depth."""
    return ("frames",) if backend is MasksBackend.SAM3 else ("frames", "camera", "depth")


def run(ctx: StageContext) -> StageOutput:
    frames = ctx.result("frames", FramesResult)
    files = sorted(frames.files, key=lambda f: f.frame or 0)
    writer = MaskWriter(ctx.store, f"{ctx.output_prefix}masks/", first=files[0].frame or 1,
                        count=len(files), width=frames.sequence.width,
                        height=frames.sequence.height)  # fmt: skip
    ctx.progress.started("masks", len(files), "frames")
    if ctx.job.options.masks_backend is MasksBackend.SAM3:
        return _sam3(ctx, files, writer)
    return _classical(ctx, files, writer)


def _classical(ctx: StageContext, files: list[OutputFile], writer: MaskWriter) -> StageOutput:
    depth_run = ctx.job.stages.get("depth")
    if depth_run is None or depth_run.status is not StageStatus.DONE:
        raise MasksUnavailableError(
            "classical masks need this plate's solved camera and depth, and depth did not "
            "run or failed (a locked-off or nodal camera has none); use the sam3 backend"
        )
    camera = ctx.result("camera", CameraResult)
    depth = ctx.result("depth", DepthResult)
    keys = {f.key.rsplit("/", 1)[-1]: f.key for f in camera.files}
    solution = CameraSolution.model_validate_json(ctx.store.get(keys["camera.json"]).data)
    if solution.kind is not SolveKind.FULL:
        raise MasksUnavailableError("classical masks need a camera that moves through space")
    depths = sorted((f for f in depth.files if f.role == "depth"), key=lambda f: f.frame or 0)
    size = (writer.width, writer.height)
    for index, mask in moving_masks(ctx, files, depths, solution,
                                    ctx.settings.depth_max_image_size):  # fmt: skip
        full = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_LINEAR) > 0
        writer.put(LABEL, index, full)
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
    parameters = {"backend": "classical", "working_size": ctx.settings.depth_max_image_size}
    return StageOutput(result=result, backend=result.backend, parameters=parameters)


def _sam3(ctx: StageContext, files: list[OutputFile], writer: MaskWriter) -> StageOutput:
    # Imported here: only this backend loads torch.
    from ingest_service.masks.sam3 import track_chunks
    from ingest_service.models.catalogue import weights_dir
    from ingest_service.models.runtime import pick_runtime
    from ingest_service.models.sam3_video import Sam3Video

    settings = ctx.settings
    prompts = ctx.job.options.mask_prompts
    if not prompts:
        raise MasksUnavailableError("the sam3 masks backend needs at least one text prompt")
    # bfloat16 on a GPU: SAM 3's detector scores overflow float16's range.
    runtime = pick_runtime(settings.model_device, half="bfloat16")
    model = Sam3Video.load(weights_dir(settings.models_dir, settings.masks_model), runtime)
    taken: set[str] = set()
    labels = {p: label_for(p, taken) for p in dict.fromkeys(prompts)}
    instances: dict[str, set[int]] = {p: set() for p in labels}

    def rgb(i: int) -> np.ndarray:
        bgr = to_display_8bit(ctx.store.get(files[i].key).data, files[i].key, ctx.scratch)
        out: np.ndarray = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return out

    empty = np.zeros((writer.height, writer.width), bool)
    chunk, overlap = settings.masks_chunk_frames, settings.masks_chunk_overlap
    for frame in track_chunks(model, rgb, len(files), list(labels), chunk=chunk, overlap=overlap):
        combined = {p: empty.copy() for p in labels}
        for plate_id, (prompt, mask) in frame.instances.items():
            combined[prompt] |= mask
            instances[prompt].add(plate_id)
            writer.put(f"{labels[prompt]}/instance-{plate_id:02d}", frame.index, mask)
        for prompt, mask in combined.items():
            writer.put(labels[prompt], frame.index, mask)
        ctx.progress.advanced()
        ctx.check()
    result = MasksResult(
        backend=f"sam3-video ({settings.masks_model}, {runtime.dtype_name})",
        prompts=prompts,
        prompts_honoured=True,
        labels=[
            MaskLabel(
                label=label,
                prompt=prompt,
                combined=writer.complete(label),
                instances=[
                    writer.complete(f"{label}/instance-{i:02d}") for i in sorted(instances[prompt])
                ],
                coverage=writer.coverage(label),
            )
            for prompt, label in labels.items()
        ],
        files=writer.files,
    )
    parameters = {
        "backend": "sam3",
        "model": settings.masks_model,
        "device": runtime.device_name,
        "dtype": runtime.dtype_name,
        "chunk_frames": settings.masks_chunk_frames,
        "chunk_overlap": settings.masks_chunk_overlap,
    }
    return StageOutput(result=result, backend=result.backend, parameters=parameters,
                       device=runtime.device_name)  # fmt: skip
