"""Classical masks of independently moving objects, from the solved camera and depth.

A static scene seen by a solved camera is fully explained by its depth: warping a
neighbouring frame into this one through the depth and the two cameras reproduces this
frame. Where it does not, in both the frame before and the frame after, something moved
on its own. Taking the better of the two neighbours forgives what one of them cannot
see (disocclusion, the frame's edge); a point that the other frame's depth says is hidden
there behind something nearer is not judged by it either. At the plate's ends, two frames
on the one side judge. The raw map is then cleaned up spatially (opening, closing, small
blobs dropped, holes inside objects filled) and temporally (a pixel must move in this
frame and in one of its neighbours).

Pixels a view did not see (`seen`: the bare edges of a frame undistorted from a
pincushion lens) are treated like the frame's edge: unknown, never motion.

Limits: an object moving along the camera's epipolar lines looks like a depth error, not
motion, and is missed; untextured moving surfaces produce little residual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

WINDOW = 7  # residuals are averaged over a window: texture noise is per pixel, motion is not
BLUR = 1.0  # pixels; aliasing and sensor noise otherwise read as motion
THRESHOLD = 0.04  # mean absolute grey difference (0..1) that counts as unexplained ...
RELATIVE = 2.5  # ... or this many times the frame's median residual, if that is higher
MIN_AREA = 0.002  # blobs smaller than this share of the frame are dropped
HIDDEN = 0.1  # a point this much (relative) behind the other view's surface is hidden there
STEP = 3  # frames to each neighbour: enough motion to see, little enough disocclusion


def gray(bgr: np.ndarray) -> np.ndarray:
    """The working image: grey, 0..1, lightly blurred."""
    g = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    out: np.ndarray = cv2.GaussianBlur(g, (0, 0), BLUR)
    return out


@dataclass(frozen=True)
class MotionView:
    gray: np.ndarray  # float32 0..1 at working resolution
    depth: np.ndarray  # float32 z-depth at working resolution
    k: np.ndarray  # intrinsics at working resolution
    c2w: np.ndarray  # OpenCV camera-to-world
    seen: np.ndarray | None = None  # bool: pixels the plate covers (None: every pixel)


def unexplained(ref: MotionView, other: MotionView) -> np.ndarray:
    """Per-pixel residual of `other` warped into `ref` through ref's depth; NaN where
    the warp lands outside `other`."""
    h, w = ref.gray.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    rays = np.stack(
        [(u - ref.k[0, 2]) / ref.k[0, 0], (v - ref.k[1, 2]) / ref.k[1, 1], np.ones_like(u)], axis=-1
    )
    cam = rays * ref.depth[..., None]
    world = cam @ ref.c2w[:3, :3].T + ref.c2w[:3, 3]
    there = (world - other.c2w[:3, 3]) @ other.c2w[:3, :3]
    z = there[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        map_x = (other.k[0, 0] * there[..., 0] / z + other.k[0, 2]).astype(np.float32)
        map_y = (other.k[1, 1] * there[..., 1] / z + other.k[1, 2]).astype(np.float32)
    inside = (z > 1e-6) & (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    if ref.seen is not None:
        inside &= ref.seen
    # Hidden in `other` behind something nearer (a disocclusion, or where a moving object
    # stood in `other`): it cannot say whether this pixel moved.
    there_depth = cv2.remap(
        other.depth,
        np.where(inside, map_x, 0).astype(np.float32),
        np.where(inside, map_y, 0).astype(np.float32),
        cv2.INTER_NEAREST,
    )
    inside &= ~(there_depth < z * (1 - HIDDEN))
    if other.seen is not None:
        landed = cv2.remap(
            other.seen.astype(np.uint8),
            np.where(inside, map_x, 0).astype(np.float32),
            np.where(inside, map_y, 0).astype(np.float32),
            cv2.INTER_NEAREST,
        )
        inside &= landed > 0
    warped = cv2.remap(
        other.gray,
        np.where(inside, map_x, 0).astype(np.float32),
        np.where(inside, map_y, 0).astype(np.float32),
        cv2.INTER_LINEAR,
    )
    residual = cv2.boxFilter(np.abs(warped - ref.gray), -1, (WINDOW, WINDOW))
    return np.where(inside, residual, np.nan).astype(np.float32)


def raw_motion(ref: MotionView, neighbours: list[MotionView]) -> np.ndarray:
    """Pixels no neighbour explains (bool). A pixel seen by no neighbour is not moving."""
    residuals = np.stack([unexplained(ref, n) for n in neighbours])
    best = np.where(np.isfinite(residuals), residuals, np.inf).min(axis=0)
    best = np.where(np.isfinite(best), best, 0.0)
    threshold = max(THRESHOLD, RELATIVE * float(np.median(best)))
    return best > threshold


def clean(mask: np.ndarray) -> np.ndarray:
    """Opening removes speckle, closing fills small gaps, tiny blobs are dropped, and the
    holes inside what is left are filled: an object's flat texture barely changes as it
    moves, but it is still the object."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel, iterations=2)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_AREA * mask.size
    return fill_holes(keep[labels])


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background not connected to the frame's border becomes foreground."""
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    flood = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(padded, flood, (0, 0), 2)
    out: np.ndarray = padded[1:-1, 1:-1] != 2
    return out


def temporal(
    previous: np.ndarray | None, current: np.ndarray, following: np.ndarray | None
) -> np.ndarray:
    """Keep a pixel that also moves in a neighbouring frame (a one-frame flash is noise).
    At the plate's ends the only neighbour decides."""
    others = [m for m in (previous, following) if m is not None]
    if not others:
        return current
    # Dilate the neighbours: the object has moved a little between frames.
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    support = np.zeros_like(current)
    for m in others:
        support |= cv2.dilate(m.astype(np.uint8), kernel).astype(bool)
    out: np.ndarray = current & support
    return out


def witnesses(i: int, count: int) -> list[int]:
    """The frames that judge frame i: STEP before and after; at the plate's ends, where one
    side is missing, two on the other side, so a disocclusion one cannot see is forgiven."""
    frames = [j for j in (i - STEP, i + STEP) if 0 <= j < count]
    if len(frames) == 1:
        further = 2 * frames[0] - i
        frames += [further] if 0 <= further < count else []
    return frames


def segment(count: int, view: Callable[[int], MotionView]) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, bool mask) for frames 0..count-1 from `view(i)`, which is asked for
    frames in increasing order and a few steps back."""
    raws: dict[int, np.ndarray] = {}
    for i in range(count):
        neighbours = [view(j) for j in witnesses(i, count)]
        raws[i] = clean(raw_motion(view(i), neighbours))
        if i >= 1:
            yield i - 1, temporal(raws.get(i - 2), raws[i - 1], raws[i])
            raws.pop(i - 2, None)
    yield count - 1, temporal(raws.get(count - 2), raws[count - 1], None)
