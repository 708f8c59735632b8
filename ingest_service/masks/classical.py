"""The classical masks backend: independently moving objects, one `moving` sequence."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from ingest_service.camera.frames_in import to_display_8bit
from ingest_service.camera.solution import CameraSolution
from ingest_service.depth.writers import read_depth_exr
from ingest_service.masks.motion import STEP, MotionView, clean, gray, raw_motion, temporal
from ingest_service.stage_results import OutputFile
from ingest_service.stages.base import StageContext

LABEL = "moving"


def moving_masks(
    ctx: StageContext,
    frames: list[OutputFile],
    depths: list[OutputFile],
    solution: CameraSolution,
    max_image_size: int,
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, bool mask at working resolution) for every frame, in order.

    Views and raw masks live in sliding windows (a few frames each), so memory does not
    grow with the plate.
    """
    count = len(frames)
    first = to_display_8bit(ctx.store.get(frames[0].key).data, frames[0].key, ctx.scratch)
    height, width = first.shape[:2]
    scale = min(1.0, max_image_size / max(width, height))
    size = (round(width * scale), round(height * scale))
    i_ = solution.intrinsics
    k = np.diag([scale, scale, 1.0]) @ np.array([[i_.fx, 0, i_.cx], [0, i_.fy, i_.cy], [0, 0, 1.0]])
    views: dict[int, MotionView] = {}
    raws: dict[int, np.ndarray] = {}

    def view(i: int) -> MotionView:
        if i not in views:
            image = to_display_8bit(ctx.store.get(frames[i].key).data, frames[i].key, ctx.scratch)
            depth = read_depth_exr(ctx.store.get(depths[i].key).data, ctx.scratch)
            views[i] = MotionView(
                gray(cv2.resize(image, size, interpolation=cv2.INTER_AREA)),
                cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST),
                k,
                solution.frames[i].c2w,
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
