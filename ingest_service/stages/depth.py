"""depth: per-frame z-depth in the camera solve's units, by the chosen backend.

`classical` (the default, no weights) measures depth by plane-sweep stereo from the
solved cameras; `depth-anything` runs Depth Anything V2 and aligns each frame to the
solve. Either way the published depth is z-depth consistent with the published camera,
with a 16-bit preview over one near/far range and a confidence map. When the solved lens
distorts, depth is in undistorted geometry: the plate's size and the camera's K, pixels
the plate does not cover at confidence 0; the camera's stmap_redistort.exr puts the lens back.
"""

from __future__ import annotations

import numpy as np

from ingest_service.camera.exports import read_points_ply
from ingest_service.camera.solution import CameraSolution, SolveKind
from ingest_service.camera.stmap import STMAP_REDISTORT
from ingest_service.depth.backend import DepthBackend, DepthInputs
from ingest_service.depth.classical import ClassicalDepth
from ingest_service.depth.writers import confidence_png, depth_exr, preview_png
from ingest_service.errors import DepthUnavailableError
from ingest_service.jobs.options import DepthBackend as Backend
from ingest_service.jobs.results import (
    CameraResult,
    DepthResult,
    FramesResult,
    OutputFile,
    SequenceInfo,
)
from ingest_service.jobs.states import StageName
from ingest_service.publish.outputs import put_output, sequence_info
from ingest_service.stages.base import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    inputs = depth_inputs(ctx)
    backend = _backend(ctx, inputs)
    prefix = f"{ctx.output_prefix}depth/"
    files = inputs.files
    first = files[0].frame or 1
    pad = max(4, len(str(first + len(files) - 1)))
    outputs: list[OutputFile] = []
    filled: list[float] = []
    kept_raw = False
    near, far = inputs.depth_range
    covered = inputs.plate_lens.covered if inputs.plate_lens.distorted else None
    ctx.progress.started("depth", backend.steps, "steps")

    def put(name: str, data: bytes, media: str, number: int) -> None:
        outputs.append(
            put_output(
                ctx.store,
                prefix + name,
                data,
                media_type=media,
                role=name.split(".")[0],
                frame=number,
            )
        )

    for frame in backend.frames():
        number = first + frame.index
        put(
            f"depth.{number:0{pad}d}.exr",
            depth_exr(frame.depth, ctx.scratch),
            "image/x-exr",
            number,
        )
        confidence = frame.confidence if covered is None else frame.confidence * covered
        put(f"confidence.{number:0{pad}d}.png", confidence_png(confidence), "image/png", number)
        if frame.raw is not None:
            kept_raw = True
            put(
                f"raw.{number:0{pad}d}.exr",
                depth_exr(frame.raw, ctx.scratch),
                "image/x-exr",
                number,
            )
        put(
            f"preview.{number:0{pad}d}.png",
            preview_png(frame.depth, near, far),
            "image/png",
            number,
        )
        filled.append(frame.filled)
        ctx.progress.advanced()
        ctx.check()
    summary = backend.summary()
    geometry, redistort = _geometry(ctx, inputs)

    def sequence(name: str, ext: str, media: str, bits: int, channels: str) -> SequenceInfo:
        return sequence_info(
            name,
            name,
            ext,
            prefix=prefix,
            pad=pad,
            first=first,
            count=len(files),
            media_type=media,
            width=inputs.width,
            height=inputs.height,
            bit_depth=bits,
            channels=channels,
            transfer="linear",
        )

    result = DepthResult(
        depth_kind="z-depth",
        units="camera-solve units (the camera's scale)",
        backend=summary.backend,
        aligned_to_solve=summary.aligned_to_solve,
        near=near,
        far=far,
        unreliable_fraction=round(float(np.mean(filled)), 4),
        alignment=summary.alignment,
        depth=sequence("depth", "exr", "image/x-exr", 32, "Z"),
        preview=sequence("preview", "png", "image/png", 16, "Y"),
        confidence=sequence("confidence", "png", "image/png", 8, "Y"),
        raw=sequence("raw", "exr", "image/x-exr", 32, "Z") if kept_raw else None,
        geometry=geometry,
        redistort_stmap=redistort,
        files=outputs,
    )
    # Also in the stage's parameters, where readers of older manifests look for it.
    said = result.model_dump(include={"geometry", "redistort_stmap"}, exclude_none=True)
    device = str(summary.parameters.get("device", "cpu"))
    return StageOutput(
        result=result,
        backend=summary.backend,
        parameters={**summary.parameters, **said},
        device=device,
        gpu_seconds=summary.gpu_seconds,
    )


def depth_inputs(ctx: StageContext) -> DepthInputs:
    frames = ctx.result(StageName.FRAMES, FramesResult)
    camera = ctx.result(StageName.CAMERA, CameraResult)
    keys = {f.key.rsplit("/", 1)[-1]: f.key for f in camera.files}
    solution = CameraSolution.model_validate_json(ctx.store.get(keys["camera.json"]).data)
    xyz, _ = read_points_ply(ctx.store.get(keys["points.ply"]).data)
    if solution.kind is not SolveKind.FULL:
        raise DepthUnavailableError(
            f"depth needs a camera that moves through space; this plate's solve is "
            f"{solution.kind} (no parallax between frames)"
        )
    if len(xyz) < 20:
        raise DepthUnavailableError(
            "the camera solve has too few scene points to set a depth range"
        )
    return DepthInputs(
        ctx=ctx,
        files=sorted(frames.files, key=lambda f: f.frame or 0),
        width=frames.sequence.width,
        height=frames.sequence.height,
        solution=solution,
        xyz=xyz,
    )


def _geometry(ctx: StageContext, inputs: DepthInputs) -> tuple[str, str | None]:
    """Which image geometry depth is in, and the ST-map that takes it to the plate's."""
    if not inputs.plate_lens.distorted:
        return "plate", None
    camera = ctx.result(StageName.CAMERA, CameraResult)
    redistort = next((f.key for f in camera.files if f.key.endswith("/" + STMAP_REDISTORT)), None)
    return "undistorted", redistort


def _backend(ctx: StageContext, inputs: DepthInputs) -> DepthBackend:
    settings = ctx.settings
    if ctx.job.options.depth_backend is Backend.DEPTH_ANYTHING:
        # Imported here: the neural backend loads torch, which the classical one never needs.
        from ingest_service.depth.neural import NeuralDepth

        return NeuralDepth(inputs, settings)
    return ClassicalDepth(inputs, settings.depth_max_image_size)
