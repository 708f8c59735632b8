"""Classical depth: plane-sweep stereo against the frames a few steps before and after.

Measured at reduced resolution, with the depth range taken from the solve's points seen
by each frame; low-confidence pixels (untextured, occluded) are filled from their
surroundings and counted.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from ingest_service.depth.backend import (
    DepthFrame,
    DepthInputs,
    DepthSummary,
    points_depth_range,
)
from ingest_service.depth.plane_sweep import View, plane_sweep

CONFIDENT = 0.15  # below this the cost curve is too flat to trust the winner
STEP = 2  # frames between the reference and each neighbour: baseline vs. overlap
PLANES = 64


class ClassicalDepth:
    def __init__(self, inputs: DepthInputs, max_image_size: int) -> None:
        self.inputs = inputs
        self.scale = min(1.0, max_image_size / max(inputs.width, inputs.height))
        self.steps = len(inputs.files)

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
        # A sliding window of reduced frames keeps memory flat however long the plate.
        loaded: dict[int, View] = {}
        for i in range(count):
            for j in (i - STEP, i, i + STEP):
                if 0 <= j < count and j not in loaded:
                    loaded[j] = self._view(j)
            for old in [j for j in loaded if j < i - STEP]:
                del loaded[old]
            neighbours = [loaded[j] for j in (i - STEP, i + STEP) if j in loaded]
            ref = loaded[i]
            near, far = points_depth_range(src.xyz, [ref.c2w])
            depth, confidence = plane_sweep(ref, neighbours, near=near, far=far, planes=PLANES)
            unsure = confidence < CONFIDENT
            depth = _fill(depth, unsure)
            size = (src.width, src.height)
            yield DepthFrame(
                index=i,
                depth=cv2.resize(depth, size, interpolation=cv2.INTER_LINEAR),
                confidence=cv2.resize(confidence, size, interpolation=cv2.INTER_LINEAR),
                filled=float(unsure.mean()),
            )

    def summary(self) -> DepthSummary:
        return DepthSummary(
            backend="plane-sweep-stereo (classical)",
            aligned_to_solve=True,  # measured from the solved cameras themselves
            parameters={
                "backend": "classical",
                "scale": round(self.scale, 4),
                "neighbour_step": STEP,
                "planes": PLANES,
                "confidence_threshold": CONFIDENT,
            },
        )


def _fill(depth: np.ndarray, unsure: np.ndarray) -> np.ndarray:
    if not unsure.any() or unsure.all():
        return depth
    filled: np.ndarray = cv2.inpaint(depth, unsure.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    return filled
