"""depth: per-frame z-depth from the solved cameras and neighbouring frames (classical).

Plane-sweep stereo at reduced resolution against the frames a few steps before and after,
the depth range taken from the solve's points seen by each frame; low-confidence pixels
(untextured, occluded) are filled from their surroundings and counted. Depth is in
camera-solve units, consistent with the published camera.
"""

from __future__ import annotations

import cv2
import numpy as np

from ingest_service.camera.exports import read_points_ply
from ingest_service.camera.frames_in import to_display_8bit
from ingest_service.camera.solution import CameraSolution, SolveKind
from ingest_service.depth.plane_sweep import View, plane_sweep
from ingest_service.depth.writers import confidence_png, depth_exr, preview_png
from ingest_service.errors import DepthUnavailableError
from ingest_service.outputs import put_output, sequence_info
from ingest_service.stage_results import (
    CameraResult,
    DepthResult,
    FramesResult,
    OutputFile,
    SequenceInfo,
)
from ingest_service.stages.base import StageContext, StageOutput

CONFIDENT = 0.15  # below this the cost curve is too flat to trust the winner
STEP = 2  # frames between the reference and each neighbour: baseline vs. overlap


def run(ctx: StageContext) -> StageOutput:
    frames = ctx.result("frames", FramesResult)
    camera = ctx.result("camera", CameraResult)
    solution, xyz = _load_solve(ctx, camera)
    if solution.kind is not SolveKind.FULL:
        raise DepthUnavailableError(
            f"depth needs a camera that moves through space; this plate's solve is "
            f"{solution.kind} (no parallax between frames)"
        )
    if len(xyz) < 20:
        raise DepthUnavailableError(
            "the camera solve has too few scene points to set a depth range"
        )
    files = sorted(frames.files, key=lambda f: f.frame or 0)
    width, height = frames.sequence.width, frames.sequence.height
    scale = min(1.0, ctx.settings.depth_max_image_size / max(width, height))
    k_full = np.array(
        [
            [solution.intrinsics.fx, 0, solution.intrinsics.cx],
            [0, solution.intrinsics.fy, solution.intrinsics.cy],
            [0, 0, 1.0],
        ]
    )
    k = np.diag([scale, scale, 1.0]) @ k_full
    prefix = f"{ctx.output_prefix}depth/"
    first = files[0].frame or 1
    pad = max(4, len(str(first + len(files) - 1)))
    outputs: list[OutputFile] = []
    nears, fars, unreliable = [], [], []
    ctx.progress.started("depth", len(files), "frames")

    def view(i: int) -> View:
        image = to_display_8bit(ctx.store.get(files[i].key).data, files[i].key, ctx.scratch)
        small = cv2.resize(
            image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
        return View(gray, k, solution.frames[i].c2w)

    # A sliding window of reduced frames keeps memory flat however long the plate.
    loaded: dict[int, View] = {}
    for i in range(len(files)):
        for j in (i - STEP, i, i + STEP):
            if 0 <= j < len(files) and j not in loaded:
                loaded[j] = view(j)
        for old in [j for j in loaded if j < i - STEP]:
            del loaded[old]
        neighbours = [loaded[j] for j in (i - STEP, i + STEP) if j in loaded]
        ref = loaded[i]
        near, far = _depth_range(xyz, ref.c2w)
        depth, confidence = plane_sweep(ref, neighbours, near=near, far=far)
        unsure = confidence < CONFIDENT
        depth = _fill(depth, unsure)
        full = cv2.resize(depth, (width, height), interpolation=cv2.INTER_LINEAR)
        conf_full = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
        number = first + i
        for name, data, media in (
            (f"depth.{number:0{pad}d}.exr", depth_exr(full, ctx.scratch), "image/x-exr"),
            (f"preview.{number:0{pad}d}.png", preview_png(full, near, far), "image/png"),
            (f"confidence.{number:0{pad}d}.png", confidence_png(conf_full), "image/png"),
        ):
            role = name.split(".")[0]
            outputs.append(put_output(ctx.store, prefix + name, data, media_type=media,
                                      role=role, frame=number))  # fmt: skip
        nears.append(near)
        fars.append(far)
        unreliable.append(float(unsure.mean()))
        ctx.progress.advanced()
        ctx.check()

    def sequence(name: str, ext: str, media: str, bits: int, channels: str) -> SequenceInfo:
        return sequence_info(name, name, ext, prefix=prefix, pad=pad, first=first,
                             count=len(files), media_type=media, width=width, height=height,
                             bit_depth=bits, channels=channels, transfer="linear")  # fmt: skip

    result = DepthResult(
        depth_kind="z-depth",
        units="camera-solve units (the camera's scale)",
        near=float(min(nears)),
        far=float(max(fars)),
        unreliable_fraction=round(float(np.mean(unreliable)), 4),
        depth=sequence("depth", "exr", "image/x-exr", 32, "Z"),
        preview=sequence("preview", "png", "image/png", 16, "Y"),
        confidence=sequence("confidence", "png", "image/png", 8, "Y"),
        files=outputs,
    )
    parameters = {
        "backend": "plane-sweep",
        "scale": round(scale, 4),
        "neighbour_step": STEP,
        "planes": 64,
        "confidence_threshold": CONFIDENT,
    }
    return StageOutput(
        result=result, backend="plane-sweep-stereo (classical)", parameters=parameters
    )


def _load_solve(ctx: StageContext, camera: CameraResult) -> tuple[CameraSolution, np.ndarray]:
    keys = {f.key.rsplit("/", 1)[-1]: f.key for f in camera.files}
    solution = CameraSolution.model_validate_json(ctx.store.get(keys["camera.json"]).data)
    xyz, _ = read_points_ply(ctx.store.get(keys["points.ply"]).data)
    return solution, xyz


def _depth_range(xyz: np.ndarray, c2w: np.ndarray) -> tuple[float, float]:
    """Near and far from the scene points in front of the camera, with margins."""
    z = (xyz - c2w[:3, 3]) @ c2w[:3, 2]
    z = z[z > 0]
    if len(z) < 20:
        raise DepthUnavailableError("too few solved scene points in front of a camera")
    return float(np.percentile(z, 1) * 0.7), float(np.percentile(z, 99) * 1.5)


def _fill(depth: np.ndarray, unsure: np.ndarray) -> np.ndarray:
    if not unsure.any() or unsure.all():
        return depth
    filled: np.ndarray = cv2.inpaint(depth, unsure.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    return filled
