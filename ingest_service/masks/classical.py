"""The classical masks backend: independently moving objects, one `moving` sequence.

Measured in the solve's pinhole geometry (frames undistorted when the lens distorts, as
the published depth is); the stage puts the lens back before it writes the masks.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from ingest_service.camera.pinhole_frames import PinholeFrames
from ingest_service.depth.writers import read_depth_exr
from ingest_service.jobs.results import OutputFile
from ingest_service.masks.motion import (
    STEP,
    WINDOW,
    MotionView,
    clean,
    gray,
    raw_motion,
    temporal,
)
from ingest_service.stages.base import StageContext

LABEL = "moving"


def moving_masks(
    ctx: StageContext,
    frames: PinholeFrames,
    depths: list[OutputFile],
    max_image_size: int,
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, bool mask at working resolution) for every frame, in order.

    Views and raw masks live in sliding windows (a few frames each), so memory does not
    grow with the plate.
    """
    count = len(frames.files)
    solution = frames.solution
    width, height = solution.width, solution.height
    scale = min(1.0, max_image_size / max(width, height))
    size = (round(width * scale), round(height * scale))
    k = np.diag([scale, scale, 1.0]) @ solution.intrinsics.lens.matrix()
    seen = _seen(frames, size)
    views: dict[int, MotionView] = {}
    raws: dict[int, np.ndarray] = {}

    def view(i: int) -> MotionView:
        if i not in views:
            image = frames.bgr(i)
            depth = read_depth_exr(ctx.store.get(depths[i].key).data, ctx.scratch)
            views[i] = MotionView(
                gray(cv2.resize(image, size, interpolation=cv2.INTER_AREA)),
                cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST),
                k,
                solution.frames[i].c2w,
                seen,
            )
        return views[i]

    for i in range(count):
        neighbours = [view(j) for j in (i - STEP, i + STEP) if 0 <= j < count]
        raws[i] = clean(raw_motion(view(i), neighbours))
        for old in [j for j in views if j < i - STEP]:
            del views[old]
        if i >= 1:
            yield i - 1, temporal(raws.get(i - 2), raws[i - 1], raws[i])
            raws.pop(i - 2, None)
        ctx.check()
    yield count - 1, temporal(raws.get(count - 2), raws[count - 1], None)


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
