"""Plates shot through a distorting lens, with their true cameras and pinhole depth.

The sample scene ray-casts through the lens (k1, k2), so a plate is what the lens makes,
not a resampling by the maps under test; the same scene seen by the ideal pinhole gives
the truth in undistorted geometry.

`lens_job` stages such a plate in a bucket as the frames and camera stages would have
published it (true cameras, the lens in camera.json, scene points in points.ply), so the
depth and masks stages can run on it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ingest_service.camera.exports import points_ply
from ingest_service.camera.lens import Lens
from ingest_service.camera.solution import (
    CameraFrame,
    CameraSolution,
    FrameStatus,
    Intrinsics,
    SolveKind,
)
from ingest_service.camera.stmap import lens_outputs
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.results import CameraResult, FramesResult, OutputFile
from ingest_service.jobs.source import ObjectRef
from ingest_service.publish.outputs import put_output, sequence_info
from ingest_service.samples.scene import Scene, motion
from ingest_service.stages.base import StageContext, StageOutput
from storage import LocalStore
from tests.conftest import make_settings
from tests.job_records import add_stage, job_record

W, H, F = 320, 180, 250.0
PREFIX = "published/lens/v001/"


@dataclass
class LensPlate:
    ctx: StageContext
    cams: list[np.ndarray]
    depth: list[np.ndarray]  # true z-depth, pinhole (undistorted) geometry
    plate_depth: list[np.ndarray]  # true z-depth on the plate
    moving: list[np.ndarray]  # true moving-object masks on the plate


def lens_job(
    folder: Path,
    lens: Lens,
    *,
    claimed: Lens | None = None,
    frames: int = 24,
    mover: bool = False,
) -> LensPlate:
    """A dolly through the sample room shot with `lens`; camera.json says `claimed`
    (the true lens unless given), as a solve that missed the distortion would."""
    assert (lens.fx, lens.fy, lens.cx, lens.cy, lens.p1, lens.p2) == (F, F, W / 2, H / 2, 0, 0)
    scene, cams = Scene(mover=mover), motion("dolly", frames)
    store = LocalStore(folder / "bucket")
    files, depths, plate_depths, moving = [], [], [], []
    for i, c2w in enumerate(cams):
        plate, plate_depth, mask = scene.render(c2w, F, W, H, i, k1=lens.k1, k2=lens.k2)
        depth = scene.render(c2w, F, W, H, i).depth
        plate_depths.append(plate_depth)
        ok, png = cv2.imencode(".png", plate[..., ::-1])
        assert ok
        files.append(
            put_output(
                store,
                f"{PREFIX}frames/frame.{i + 1:04d}.png",
                png.tobytes(),
                media_type="image/png",
                role="frame",
                frame=i + 1,
            )
        )
        depths.append(depth)
        moving.append(mask)
    solution = CameraSolution(
        width=W,
        height=H,
        intrinsics=Intrinsics.from_lens(claimed or lens),
        kind=SolveKind.FULL,
        frames=[
            CameraFrame.of(i + 1, f"frame.{i + 1:04d}.png", FrameStatus.REGISTERED, c2w)
            for i, c2w in enumerate(cams)
        ],
        reprojection_error_px=0.2,
        points=0,
        fps=24.0,
    )
    xyz = _scene_points(cams, depths)
    published = {
        "camera.json": solution.model_dump_json().encode(),
        "points.ply": points_ply(xyz, np.full((len(xyz), 3), 128, np.uint8)),
    }
    if (claimed or lens).distorted:
        published.update(lens_outputs(claimed or lens, W, H, scratch=folder))
    camera_files = [
        put_output(
            store,
            f"{PREFIX}camera/{name}",
            data,
            role="camera",
            media_type="application/octet-stream",
        )
        for name, data in published.items()
    ]
    sequence = sequence_info(
        "frames",
        "frame",
        "png",
        prefix=f"{PREFIX}frames/",
        pad=4,
        first=1,
        count=frames,
        media_type="image/png",
        width=W,
        height=H,
        bit_depth=8,
        channels="RGB",
        transfer="srgb",
    )
    record = job_record(
        "lens-job",
        ObjectRef(bucket="b", key="incoming/lens.mp4", etag="e", size=1),
        ["probe", "frames", "camera", "depth", "masks"],
    )
    add_stage(record, "frames", FramesResult(sequence=sequence, thumbnail=files[0], files=files))
    add_stage(
        record,
        "camera",
        CameraResult(
            solve="full",
            frames=frames,
            registered=frames,
            interpolated=0,
            reprojection_error_px=0.2,
            points=len(xyz),
            focal_length_px=F,
            focal_source="solved",
            split_models=[frames],
            timings_s={},
            files=camera_files,
        ),
    )
    scratch = folder / "scratch"
    scratch.mkdir(exist_ok=True)
    ctx = StageContext(
        job=record,
        store=store,
        settings=make_settings(folder),
        output_prefix=PREFIX,
        scratch=scratch,
        check=lambda: None,
    )
    return LensPlate(ctx, cams, depths, plate_depths, moving)


def record_output(record: JobRecord, name: str, output: StageOutput) -> None:
    add_stage(record, name, output.result, output.parameters)


def _scene_points(cams: list[np.ndarray], depths: list[np.ndarray]) -> np.ndarray:
    """What a solve's points.ply holds: scene points seen by the plate, here taken from
    the true depth of a few frames."""
    rng = np.random.default_rng(11)
    points = []
    k_inv = np.linalg.inv(np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1.0]]))
    for i in (0, len(cams) // 2, len(cams) - 1):
        cols, rows = rng.integers(0, W, 400), rng.integers(0, H, 400)
        z = depths[i][rows, cols]
        rays = np.stack([cols + 0.5, rows + 0.5, np.ones(len(cols))], axis=1) @ k_inv.T
        cam = rays * z[:, None]
        points.append(cam @ cams[i][:3, :3].T + cams[i][:3, 3])
    return np.concatenate(points)


def depth_files(outputs: list[OutputFile], role: str) -> list[OutputFile]:
    return sorted((f for f in outputs if f.role == role), key=lambda f: f.frame or 0)
