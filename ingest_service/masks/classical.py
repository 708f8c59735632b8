"""The classical masks backend: independently moving objects, one `moving` sequence.

Measured in the solve's pinhole geometry (frames undistorted when the lens distorts, as
the published depth is); the stage puts the lens back before it writes the masks.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from ingest_service.camera.lens_maps import PlateLens
from ingest_service.camera.pinhole_frames import PinholeFrames
from ingest_service.camera.rejected import RejectedTracks
from ingest_service.depth.writers import read_depth_exr
from ingest_service.jobs.results import OutputFile
from ingest_service.masks.motion import STEP, WINDOW, MotionView, gray, segment
from ingest_service.stages.base import StageContext

LABEL = "moving"


def moving_masks(
    ctx: StageContext,
    frames: PinholeFrames,
    depths: list[OutputFile],
    max_image_size: int,
    rejected: RejectedTracks | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, bool mask at working resolution) for every frame, in order.

    Views and raw masks live in sliding windows (a few frames each), so memory does not
    grow with the plate. `rejected`: the camera solve's tracks that broke the static
    scene, which make objects of blobs too small or thin to be kept on motion alone.
    """
    count = len(frames.files)
    solution = frames.solution
    width, height = solution.width, solution.height
    scale = min(1.0, max_image_size / max(width, height))
    size = (round(width * scale), round(height * scale))
    k = np.diag([scale, scale, 1.0]) @ solution.intrinsics.lens.matrix()
    seen = _seen(frames, size)
    views: dict[int, MotionView] = {}

    def view(i: int) -> MotionView:
        # A sliding window of views: memory does not grow with the plate.
        for old in [j for j in views if j < i - 2 * STEP]:
            del views[old]
        ctx.check()
        if i not in views:
            image = cv2.resize(frames.bgr(i), size, interpolation=cv2.INTER_AREA)
            depth = read_depth_exr(ctx.store.get(depths[i].key).data, ctx.scratch)
            views[i] = MotionView(
                gray(image),
                cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST),
                k,
                solution.frames[i].c2w,
                seen,
                image,
                None
                if rejected is None
                else working_pixels(rejected.moving_xy(i), frames.plate_lens, scale),
            )
        return views[i]

    yield from segment(count, view)


def masks_in_memory(
    bgr: list[np.ndarray],
    depths: list[np.ndarray],
    k: np.ndarray,
    cameras: list[np.ndarray],
    max_image_size: int,
) -> list[np.ndarray]:
    """Masks at the frames' size for frames held in memory (pinhole, no lens)."""
    height, width = bgr[0].shape[:2]
    scale = min(1.0, max_image_size / max(width, height))
    size = (round(width * scale), round(height * scale))
    k_small = np.diag([scale, scale, 1.0]) @ k

    def view(i: int) -> MotionView:
        image = cv2.resize(bgr[i], size, interpolation=cv2.INTER_AREA)
        return MotionView(
            gray(image),
            cv2.resize(depths[i], size, interpolation=cv2.INTER_NEAREST),
            k_small,
            cameras[i],
            bgr=image,
        )

    out = []
    for _, mask in segment(len(bgr), view):
        full = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
        out.append(full > 0)
    return out


def working_pixels(xy: np.ndarray, lens: PlateLens, scale: float) -> np.ndarray:
    """Plate pixels (COLMAP's convention, distorted as the plate is) as working-size array
    positions in the pinhole geometry the masks are measured in."""
    pinhole = lens.lens.undistort_pixels(xy) if lens.distorted and len(xy) else xy
    out: np.ndarray = pinhole * scale - 0.5
    return out


def _seen(frames: PinholeFrames, size: tuple[int, int]) -> np.ndarray | None:
    """Working pixels the plate covers, clear of the residual window at the bare edge
    (pincushion distortion leaves the undistorted frame's edges bare); None: all of them."""
    lens = frames.plate_lens
    if not lens.distorted or lens.covered.all():
        return None
    covered = cv2.resize(lens.covered.astype(np.uint8), size, interpolation=cv2.INTER_AREA)
    margin = cv2.getStructuringElement(cv2.MORPH_RECT, (WINDOW + 2, WINDOW + 2))
    out: np.ndarray = cv2.erode(covered, margin, borderType=cv2.BORDER_REPLICATE) > 0
    return out
