"""The neural alignment without the solve's points on things that move on their own.

A solve point where something moves on its own (a track that locked onto a walker for a
while, a point triangulated through it) is not where the model sees that pixel now, and a
fit that counts it bends the whole frame's scale and shift. The masks' motion test finds
those pixels, run on the first alignment's depth as the classical backend runs it on its
stereo: each frame is then fitted again with only the points off them, the fits are
smoothed over time again, and the moving pixels' confidence is 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ingest_service.depth.align import Fit, fit_inverse_affine, sample, to_depth, visible_points
from ingest_service.depth.backend import DepthInputs
from ingest_service.masks.motion import STEP, MotionView, gray, segment


@dataclass(frozen=True)
class MovingFits:
    fits: list[Fit | None]  # each frame's fit to the points off moving pixels
    packed: list[np.ndarray]  # each frame's moving pixels at working size, bit-packed
    shape: tuple[int, int]  # the working size (rows, columns)
    shares: list[float]  # each frame's share of moving pixels
    dropped: list[int]  # each frame's visible solve points that fell on them

    def moving(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """Frame `index`'s moving pixels (bool) at `size` (width, height)."""
        rows, cols = self.shape
        bits = np.unpackbits(self.packed[index], count=rows * cols).reshape(rows, cols)
        out: np.ndarray = cv2.resize(bits, size, interpolation=cv2.INTER_NEAREST) > 0
        return out


def refit_off_moving(
    inputs: DepthInputs,
    load: Callable[[int], np.ndarray],
    alignment: tuple[np.ndarray, np.ndarray],
    far: float,
    max_image_size: int,
) -> MovingFits:
    """Every frame's fit without the points on its moving pixels. `load(i)`: frame i's
    predicted inverse depth; `alignment`: the first (scale, shift) per frame."""
    count = len(inputs.files)
    scale = min(1.0, max_image_size / max(inputs.width, inputs.height))
    size = (round(inputs.width * scale), round(inputs.height * scale))
    k = np.diag([scale, scale, 1.0]) @ inputs.k
    views: dict[int, tuple[MotionView, np.ndarray]] = {}

    def view(i: int) -> MotionView:
        for old in [j for j in views if j < i - 2 * STEP]:
            del views[old]
        if i not in views:
            predicted = load(i)
            small = cv2.resize(predicted, size, interpolation=cv2.INTER_LINEAR)
            depth, _ = to_depth(small, alignment[0][i], alignment[1][i], far=far)
            image = cv2.resize(inputs.bgr(i), size, interpolation=cv2.INTER_AREA)
            c2w = inputs.solution.frames[i].c2w
            views[i] = (MotionView(gray(image), depth, k, c2w), predicted)
        return views[i][0]

    fits: list[Fit | None] = []
    packed: list[np.ndarray] = []
    shares: list[float] = []
    dropped: list[int] = []
    for i, moving in segment(count, view):
        predicted = views[i][1]
        h, w = predicted.shape
        u, v, z = visible_points(
            inputs.xyz, inputs.solution.frames[i].c2w, inputs.k, inputs.width, inputs.height
        )
        row = np.clip((v * scale).astype(np.int64), 0, size[1] - 1)
        col = np.clip((u * scale).astype(np.int64), 0, size[0] - 1)
        off = ~moving[row, col]
        # Image coordinates put pixel centres at +0.5; array indices at 0.
        d = sample(predicted, u[off] * w / inputs.width - 0.5, v[off] * h / inputs.height - 0.5)
        fits.append(fit_inverse_affine(d, z[off]))
        packed.append(np.packbits(moving))
        shares.append(float(moving.mean()))
        dropped.append(int((~off).sum()))
        inputs.ctx.progress.advanced()
        inputs.ctx.check()
    return MovingFits(fits, packed, (size[1], size[0]), shares, dropped)
