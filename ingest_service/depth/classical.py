"""Classical depth: plane-sweep stereo against frames on both sides, moving pixels left out.

Measured at reduced resolution, with the depth range taken from the solve's points seen by
each frame. Each pixel is matched in the best two of four neighbours (two and four frames
before and after), so what one neighbour cannot see still gets a depth. Pixels that move
on their own (the masks' motion test, run on this frame's own stereo depth) are left out:
their confidence is 0 and their depth is a guess (moving.py): the nearest surface around
them or in the frame. Other low-confidence pixels (untextured, occluded) are filled from
their surroundings, also at confidence 0 (sure pixels are at 0.5 and above), and the
depth is brought to the frames' size guided by the frame's edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ingest_service.depth.backend import (
    DepthFrame,
    DepthInputs,
    DepthSummary,
    points_depth_range,
)
from ingest_service.depth.moving import left_out
from ingest_service.depth.plane_sweep import View, plane_sweep
from ingest_service.depth.upsample import guided_upsample
from ingest_service.masks.motion import BLUR, STEP, MotionView, segment

CONFIDENT = 0.15  # below this the cost curve is too flat to trust the winner
OFFSETS = (-4, -2, 2, 4)  # neighbours: short baselines overlap, long ones resolve depth
BEST = 2  # neighbours whose costs count at each pixel: occlusion and motion skip the rest
PLANES = 64


class ClassicalDepth:
    def __init__(self, inputs: DepthInputs, max_image_size: int) -> None:
        self.inputs = inputs
        self.scale = min(1.0, max_image_size / max(inputs.width, inputs.height))
        self.steps = len(inputs.files)
        self.moving: list[float] = []

    def _view(self, i: int) -> View:
        src = self.inputs
        small = cv2.resize(
            src.bgr(i),
            (round(src.width * self.scale), round(src.height * self.scale)),
            interpolation=cv2.INTER_AREA,
        )
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
        k = np.diag([self.scale, self.scale, 1.0]) @ src.k
        return View(gray, k, src.solution.frames[i].c2w)

    def frames(self) -> Iterator[DepthFrame]:
        src = self.inputs
        count = len(src.files)
        # Sliding windows of reduced frames and stereo results keep memory flat however
        # long the plate: the masks' motion test looks STEP frames back and ahead.
        loaded: dict[int, View] = {}
        measured: dict[int, Stereo] = {}

        def view(j: int) -> View:
            if j not in loaded:
                loaded[j] = self._view(j)
            return loaded[j]

        def motion_view(j: int) -> MotionView:
            if j not in measured:
                ref = view(j)
                neighbours = [view(j + o) for o in OFFSETS if 0 <= j + o < count]
                measured[j] = stereo(ref, neighbours, points_depth_range(src.xyz, [ref.c2w]))
            ref = loaded[j]
            return MotionView(gray_view(ref.gray), measured[j].depth, ref.k, ref.c2w)

        for i, moving in segment(count, motion_view):
            result = measured[i]
            for old in [j for j in measured if j < i - 2 * STEP]:
                del measured[old]
            for old in [j for j in loaded if j < i - max(2 * STEP, *OFFSETS)]:
                del loaded[old]
            unsure = result.unsure | moving
            depth = left_out(_fill(result.depth, unsure), moving, ~unsure)
            # Published confidence: 0 where depth was filled in or left out, and from 0.5
            # at the threshold of trust to 1 at twice its margin.
            margin = np.clip(result.confidence / (2 * CONFIDENT), 0.0, 1.0)
            confidence = np.where(unsure, 0.0, margin).astype(np.float32)
            self.moving.append(float(moving.mean()))
            size = (src.width, src.height)
            yield DepthFrame(
                index=i,
                depth=guided_upsample(depth, src.bgr(i), size),
                confidence=cv2.resize(confidence, size, interpolation=cv2.INTER_NEAREST),
                filled=float(unsure.mean()),
            )

    def summary(self) -> DepthSummary:
        return DepthSummary(
            backend="plane-sweep-stereo (classical)",
            aligned_to_solve=True,  # measured from the solved cameras themselves
            parameters={
                "backend": "classical",
                "scale": round(self.scale, 4),
                "neighbour_offsets": list(OFFSETS),
                "best_neighbours": BEST,
                "planes": PLANES,
                "confidence_threshold": CONFIDENT,
                "moving_fraction": round(float(np.mean(self.moving)), 4) if self.moving else 0.0,
            },
        )


@dataclass(frozen=True)
class Stereo:
    depth: np.ndarray  # z-depth at working size, unsure pixels filled
    confidence: np.ndarray
    unsure: np.ndarray  # bool: the cost curve was too flat to trust


def stereo(ref: View, neighbours: list[View], depth_range: tuple[float, float]) -> Stereo:
    near, far = depth_range
    depth, confidence = plane_sweep(ref, neighbours, near=near, far=far, planes=PLANES, best=BEST)
    unsure = confidence < CONFIDENT
    return Stereo(_fill(depth, unsure), confidence, unsure)


def gray_view(gray: np.ndarray) -> np.ndarray:
    """The motion test's working image from a stereo view's grey."""
    out: np.ndarray = cv2.GaussianBlur(gray, (0, 0), BLUR)
    return out


def _fill(depth: np.ndarray, unsure: np.ndarray) -> np.ndarray:
    """Unsure pixels from the sure ones around them: normalised convolution of inverse depth
    (smooth across a plane) in windows that widen, until every pixel has support."""
    if not unsure.any() or unsure.all():
        return depth
    sure = (~unsure).astype(np.float32)
    inverse = np.where(unsure, 0.0, 1.0 / depth).astype(np.float32)
    out = inverse.copy()
    todo = unsure.copy()
    radius = 2
    while todo.any() and radius < max(depth.shape):
        # Box filters cost the same at any radius.
        window = (2 * radius + 1, 2 * radius + 1)
        weight = cv2.blur(sure, window)
        value = cv2.blur(inverse, window)
        ready = todo & (weight > 0.05)
        out[ready] = value[ready] / weight[ready]
        todo &= ~ready
        radius *= 2
    out[todo] = np.median(inverse[~unsure])
    filled: np.ndarray = 1.0 / out
    return filled
