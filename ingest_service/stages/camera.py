"""camera: solve the plate's camera, give every frame one, publish it in DCC formats."""

from __future__ import annotations

import numpy as np
import pycolmap

from ingest_service.camera.export_colmap import colmap_text
from ingest_service.camera.export_usd import camera_usda
from ingest_service.camera.exports import camera_csv, nuke_chan, points_ply, transforms_json
from ingest_service.camera.frames_in import stage_frames
from ingest_service.camera.geometry import up_aligned
from ingest_service.camera.interpolate import fill_missing
from ingest_service.camera.solution import (
    CameraFrame,
    CameraSolution,
    FrameStatus,
    Intrinsics,
)
from ingest_service.camera.solve import SolveOutcome, SolveSettings, solve
from ingest_service.outputs import put_output
from ingest_service.stage_results import CameraResult, FramesResult, OutputFile, ProbeResult
from ingest_service.stages.base import StageContext, StageOutput

MEDIA_TYPES = {".json": "application/json", ".chan": "text/plain", ".usda": "model/vnd.usda",
               ".csv": "text/csv", ".txt": "text/plain", ".ply": "application/x-ply"}  # fmt: skip


def run(ctx: StageContext) -> StageOutput:
    frames = ctx.result("frames", FramesResult)
    probe = ctx.result("probe", ProbeResult)
    settings = ctx.settings
    options = ctx.job.options
    files = sorted(frames.files, key=lambda f: f.frame or 0)
    width, height = frames.sequence.width, frames.sequence.height
    scale = min(1.0, settings.camera_max_image_size / max(width, height))
    ctx.progress.started("camera", None, "steps")
    names = stage_frames(ctx.store, files, ctx.scratch / "images", scale=scale,
                         workers=settings.workers)  # fmt: skip
    ctx.check()
    focal_hint = _focal_hint_px(options.focal_length_mm, options.sensor_width_mm, width)
    solver = SolveSettings(max_features=settings.camera_max_features,
                           overlap=settings.camera_overlap, threads=settings.workers,
                           mapper=settings.camera_mapper,
                           max_keyframes=settings.camera_max_keyframes)  # fmt: skip
    outcome = solve(
        ctx.scratch / "images", names, round(width * scale), round(height * scale),
        focal_hint_px=focal_hint * scale if focal_hint else None, settings=solver,
        scratch=ctx.scratch,
    )  # fmt: skip
    solution, xyz = _solution(outcome, files, width, height, scale, float(probe.fps))
    written = _publish(ctx, solution, xyz, outcome.rgb, options.sensor_width_mm)
    result = CameraResult(
        solve=solution.kind.value, frames=len(solution.frames), registered=solution.registered,
        interpolated=solution.interpolated, reprojection_error_px=solution.reprojection_error_px,
        points=solution.points, focal_length_px=solution.intrinsics.fx,
        focal_source=outcome.focal_source, split_models=outcome.split,
        timings_s=outcome.timings, files=written,
    )  # fmt: skip
    parameters = {"solve_scale": round(scale, 4), "max_features": solver.max_features,
                  "overlap": solver.overlap, "quadratic_overlap": True, "mapper": solver.mapper,
                  "max_keyframes": solver.max_keyframes,
                  "camera_model": outcome.model, "focal_hint_px": focal_hint}  # fmt: skip
    return StageOutput(result=result, backend=f"pycolmap-{pycolmap.__version__}",
                       parameters=parameters, cpu_cores=settings.workers)  # fmt: skip


def _focal_hint_px(focal_mm: float | None, sensor_mm: float | None, width: int) -> float | None:
    if focal_mm is None:
        return None
    return focal_mm / (sensor_mm or 36.0) * width


def _solution(
    outcome: SolveOutcome, files: list[OutputFile], width: int, height: int, scale: float,
    fps: float,
) -> tuple[CameraSolution, np.ndarray]:  # fmt: skip
    """Full-resolution intrinsics, an upright world, and a camera for every frame."""
    params = list(outcome.params)
    # Focal lengths and principal point scale with the image; distortion terms do not.
    pixel_terms = 3 if outcome.model in ("SIMPLE_RADIAL", "SIMPLE_PINHOLE", "RADIAL") else 4
    params[:pixel_terms] = [v / scale for v in params[:pixel_terms]]
    if pixel_terms == 3:
        fx = fy = params[0]
        cx, cy = params[1], params[2]
    else:
        fx, fy, cx, cy = params[:4]
    align = up_aligned([outcome.cameras[i] for i in sorted(outcome.cameras)])
    solved = {i: align @ c2w for i, c2w in outcome.cameras.items()}
    xyz = (outcome.xyz @ align[:3, :3].T + align[:3, 3]) if len(outcome.xyz) else outcome.xyz
    filled = fill_missing(solved, len(files))
    frames = [
        CameraFrame.of(
            entry.frame or i,
            entry.key.rsplit("/", 1)[-1],
            FrameStatus.REGISTERED if i in solved else FrameStatus.INTERPOLATED,
            filled[i],
        )
        for i, entry in enumerate(files)
    ]
    solution = CameraSolution(
        width=width, height=height,
        intrinsics=Intrinsics(model=outcome.model, params=params, fx=fx, fy=fy, cx=cx, cy=cy),
        kind=outcome.kind, fps=fps, frames=frames,
        reprojection_error_px=outcome.reprojection_error_px, points=len(xyz),
        split_models=outcome.split,
    )  # fmt: skip
    return solution, xyz


def _publish(
    ctx: StageContext, solution: CameraSolution, xyz: np.ndarray, rgb: np.ndarray,
    sensor_width_mm: float | None,
) -> list[OutputFile]:  # fmt: skip
    prefix = f"{ctx.output_prefix}camera/"
    outputs = {
        "camera.json": solution.model_dump_json(indent=1).encode(),
        "transforms.json": transforms_json(solution),
        "camera.chan": nuke_chan(solution),
        "camera.usda": camera_usda(solution, sensor_width_mm=sensor_width_mm),
        "camera.csv": camera_csv(solution),
        "points.ply": points_ply(xyz, rgb),
        **{f"colmap/{name}": data for name, data in colmap_text(solution, xyz, rgb).items()},
    }
    return [
        put_output(
            ctx.store,
            prefix + name,
            data,
            role="camera",
            media_type=MEDIA_TYPES[name[name.rfind(".") :]],
        )
        for name, data in outputs.items()
    ]
