"""camera: solve the plate's camera, give every frame one, publish it in DCC formats."""

from __future__ import annotations

import dataclasses

import numpy as np
import pycolmap

from ingest_service.camera.export_colmap import colmap_text
from ingest_service.camera.export_usd import camera_usda
from ingest_service.camera.exports import camera_csv, nuke_chan, points_ply, transforms_json
from ingest_service.camera.frames_in import stage_frames
from ingest_service.camera.geometry import up_aligned
from ingest_service.camera.interpolate import fill_missing
from ingest_service.camera.lens import Lens
from ingest_service.camera.rejected import FILE_NAME as REJECTED_FILE
from ingest_service.camera.rejected import RejectedTracks
from ingest_service.camera.review import verdict
from ingest_service.camera.solution import (
    CameraFrame,
    CameraSolution,
    FrameStatus,
    Intrinsics,
    SolveEvidence,
)
from ingest_service.camera.solve import SolveOutcome, SolveSettings, solve
from ingest_service.camera.stmap import lens_outputs
from ingest_service.jobs.results import CameraResult, FramesResult, OutputFile, ProbeResult
from ingest_service.jobs.states import StageName
from ingest_service.publish.outputs import put_output
from ingest_service.stages.base import StageContext, StageOutput

MEDIA_TYPES = {
    ".json": "application/json",
    ".chan": "text/plain",
    ".usda": "model/vnd.usda",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".ply": "application/x-ply",
    ".exr": "image/x-exr",
}


def run(ctx: StageContext) -> StageOutput:
    frames = ctx.result(StageName.FRAMES, FramesResult)
    probe = ctx.result(StageName.PROBE, ProbeResult)
    settings = ctx.settings
    options = ctx.job.options
    files = sorted(frames.files, key=lambda f: f.frame or 0)
    width, height = frames.sequence.width, frames.sequence.height
    scale = min(1.0, settings.camera_max_image_size / max(width, height))
    ctx.progress.started("camera", None, "steps")
    names = stage_frames(
        ctx.store, files, ctx.scratch / "images", scale=scale, workers=settings.workers
    )
    ctx.check()
    focal_hint = _focal_hint_px(options.focal_length_mm, options.sensor_width_mm, width)
    # Every solve setting is the job's `camera_<name>` option, but for the thread count.
    solver = SolveSettings(
        threads=settings.workers,
        **{
            field.name: getattr(settings, f"camera_{field.name}")
            for field in dataclasses.fields(SolveSettings)
            if field.name != "threads"
        },
    )
    outcome = solve(
        ctx.scratch / "images",
        names,
        round(width * scale),
        round(height * scale),
        focal_hint_px=focal_hint * scale if focal_hint else None,
        settings=solver,
        scratch=ctx.scratch,
    )
    solution, xyz = _solution(outcome, files, width, height, scale, float(probe.fps))
    solution.evidence = _evidence(outcome, solution, scale, focal_hint)
    reasons = verdict(solution.kind, solution.evidence)
    solution.review = reasons or "ok"
    extra = {}
    if outcome.frontend == "tracks":
        rejected = RejectedTracks.of(
            outcome.moving,
            outcome.outliers,
            [frame.frame for frame in solution.frames],
            width=width,
            height=height,
            scale=scale,
        )
        extra[REJECTED_FILE] = rejected.model_dump_json().encode()
    written = _publish(ctx, solution, xyz, outcome.rgb, options.sensor_width_mm, extra)
    result = CameraResult(
        solve=solution.kind.value,
        frames=len(solution.frames),
        registered=solution.registered,
        interpolated=solution.interpolated,
        reprojection_error_px=solution.reprojection_error_px,
        points=solution.points,
        focal_length_px=solution.intrinsics.fx,
        focal_source=outcome.focal_source,
        split_models=outcome.split,
        timings_s=outcome.timings,
        files=written,
        review=solution.review,
        evidence=solution.evidence.model_dump(),
    )
    parameters = {
        "solve_scale": round(scale, 4),
        "frontend": outcome.frontend,
        "requested_frontend": solver.frontend,
        "track_points": solver.track_points,
        "fallback_reason": outcome.fallback_reason,
        "max_features": solver.max_features,
        "overlap": solver.overlap,
        "quadratic_overlap": True,
        "mapper": solver.mapper,
        "max_keyframes": solver.max_keyframes,
        "camera_model": outcome.model,
        "focal_hint_px": focal_hint,
    }
    return StageOutput(
        result=result,
        backend=f"pycolmap-{pycolmap.__version__}",
        parameters=parameters,
        cpu_cores=settings.workers,
    )


def _evidence(
    outcome: SolveOutcome, solution: CameraSolution, scale: float, focal_hint: float | None
) -> SolveEvidence:
    """The solve's own measurements, in pixels of the published frames."""
    measured = outcome.measured
    span = measured.focal_range_px
    errors = measured.reprojection_px
    return SolveEvidence(
        frontend=outcome.frontend,
        fallback_reason=outcome.fallback_reason,
        parallax_deg=_rounded(measured.parallax_deg, 3),
        focal_length_px=round(solution.intrinsics.fx, 2),
        focal_source=outcome.focal_source,
        focal_range_px=(round(span[0] / scale, 1), round(span[1] / scale, 1)) if span else None,
        focal_hint_px=_rounded(focal_hint, 2),
        tracks_per_frame=measured.tracks_per_frame,
        track_length_frames=measured.track_length_frames,
        reprojection_error_px=(
            {k: round(v / scale, 3) for k, v in zip(("p50", "p90", "p99"), errors, strict=True)}
            if errors
            else None
        ),
        interpolated_frames=solution.interpolated,
        interpolated_share=round(solution.interpolated / max(len(solution.frames), 1), 4),
        unexplained_motion_share=_rounded(measured.unexplained_motion_share, 4),
    )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _focal_hint_px(focal_mm: float | None, sensor_mm: float | None, width: int) -> float | None:
    if focal_mm is None:
        return None
    return focal_mm / (sensor_mm or 36.0) * width


def _solution(
    outcome: SolveOutcome,
    files: list[OutputFile],
    width: int,
    height: int,
    scale: float,
    fps: float,
) -> tuple[CameraSolution, np.ndarray]:
    """Full-resolution intrinsics, an upright world, and a camera for every frame."""
    # Focal lengths and principal point scale with the image; distortion terms do not.
    lens = Lens.from_colmap(outcome.model, outcome.params).scaled(1 / scale)
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
        width=width,
        height=height,
        intrinsics=Intrinsics.from_lens(lens),
        kind=outcome.kind,
        fps=fps,
        frames=frames,
        reprojection_error_px=outcome.reprojection_error_px,
        points=len(xyz),
        split_models=outcome.split,
    )
    return solution, xyz


def _publish(
    ctx: StageContext,
    solution: CameraSolution,
    xyz: np.ndarray,
    rgb: np.ndarray,
    sensor_width_mm: float | None,
    extra: dict[str, bytes],
) -> list[OutputFile]:
    prefix = f"{ctx.output_prefix}camera/"
    outputs = {
        "camera.json": solution.model_dump_json(indent=1).encode(),
        "transforms.json": transforms_json(solution),
        "camera.chan": nuke_chan(solution),
        "camera.usda": camera_usda(solution, sensor_width_mm=sensor_width_mm),
        "camera.csv": camera_csv(solution),
        "points.ply": points_ply(xyz, rgb),
        **{f"colmap/{name}": data for name, data in colmap_text(solution, xyz, rgb).items()},
        **extra,
    }
    lens = solution.intrinsics.lens
    if lens.distorted:
        outputs.update(lens_outputs(lens, solution.width, solution.height, scratch=ctx.scratch))
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
