"""Classical masks of independently moving objects, from the solved camera and depth.

A static scene seen by a solved camera is fully explained by its depth: warping a
neighbouring frame into this one through the depth and the two cameras reproduces this
frame. Where it does not, in both the frame before and the frame after, something moved
on its own. Taking the better of the two neighbours forgives what one of them cannot
see (disocclusion, the frame's edge). At the plate's ends two frames on the one side
judge, and a point that a judging frame's depth says is hidden there behind something
nearer is not judged by it. The raw map is then cleaned up spatially (opening, closing, small
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
from typing import NamedTuple

import cv2
import numpy as np

from ingest_service.depth.upsample import guided_filter
from ingest_service.masks.colour import to_colour_edges

WINDOW = 7  # residuals are averaged over a window: texture noise is per pixel, motion is not
BLUR = 1.0  # pixels; aliasing and sensor noise otherwise read as motion
THRESHOLD = 0.04  # mean absolute grey difference (0..1) that counts as unexplained ...
RELATIVE = 2.5  # ... or this many times the frame's median residual, if that is higher
CORE = 16  # pixels: a blob with no disc this wide inside is a strip along a depth edge
MIN_AREA = 0.004  # blobs smaller than this share of the frame are dropped
HIDDEN = 0.3  # a point this much (relative) behind the other view's surface is hidden there
GEOMETRY = 0.2  # relative disagreement of two frames' depths that counts as unexplained
REFINE = 8  # guided filter radius for the mask's edges (0: none)
EDGE_EPSILON = 1e-2  # grey variance below which the filter smooths rather than follows edges
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
    bgr: np.ndarray | None = None  # uint8 colour at working resolution: edges by GrabCut


def unexplained(ref: MotionView, other: MotionView, *, hidden: bool = False) -> np.ndarray:
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
    there_depth = cv2.remap(
        other.depth,
        np.where(inside, map_x, 0).astype(np.float32),
        np.where(inside, map_y, 0).astype(np.float32),
        cv2.INTER_NEAREST,
    )
    if hidden:
        # Hidden in `other` behind something nearer (a disocclusion, or where a moving
        # object stood in `other`): it cannot say whether this pixel moved.
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
    if GEOMETRY:
        # Stereo fits a depth that explains an object moving along the epipolar lines,
        # but each frame fits a different one: depths that disagree are unexplained too.
        disagree = np.abs(there_depth - z) > GEOMETRY * np.maximum(there_depth, z)
        residual = np.where(disagree, np.maximum(residual, 2 * THRESHOLD), residual)
    return np.where(inside, residual, np.nan).astype(np.float32)


def raw_motion(
    ref: MotionView, neighbours: list[MotionView], *, hidden: bool = False
) -> np.ndarray:
    """Pixels no neighbour explains (bool). A pixel seen by no neighbour is not moving."""
    residuals = np.stack([unexplained(ref, n, hidden=hidden) for n in neighbours])
    best = np.where(np.isfinite(residuals), residuals, np.inf).min(axis=0)
    best = np.where(np.isfinite(best), best, 0.0)
    threshold = max(THRESHOLD, RELATIVE * float(np.median(best)))
    return best > threshold


def clean(mask: np.ndarray) -> np.ndarray:
    """Opening removes speckle, closing fills small gaps, blobs that are not objects are
    dropped, and the holes inside what is left are filled: an object's flat texture barely
    changes as it moves, but it is still the object."""
    return fill_holes(blobs(mask).objects)


class Blobs(NamedTuple):
    objects: np.ndarray  # bool: blobs of MIN_AREA with a core inside the frame
    edge: np.ndarray  # bool: blobs of MIN_AREA whose core needs the frame's border


def blobs(mask: np.ndarray) -> Blobs:
    """The raw map opened and closed, its objects and edge blobs (holes not filled).

    An object has a solid core, a disc CORE wide, somewhere inside the frame: thin strips
    along depth edges have none. A blob that has one only if the frame's border counts as
    part of it is an edge blob: something entering or leaving the frame, or a strip along
    the edge where only one neighbour sees; the frames beside it tell them apart.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel, iterations=2)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    large = stats[:, cv2.CC_STAT_AREA] >= MIN_AREA * mask.size
    large[0] = False
    if not CORE:
        return Blobs(large[labels], np.zeros_like(mask, dtype=bool))
    core = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (CORE, CORE))

    def cored(border: int) -> np.ndarray:
        inside = cv2.erode(m, core, borderType=cv2.BORDER_CONSTANT, borderValue=border)
        out = np.zeros(count, bool)
        out[np.unique(labels[inside > 0])] = True
        return out

    objects = large & cored(0)
    edge = large & cored(1) & ~objects
    return Blobs(objects[labels], edge[labels])


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


def confirmed(previous: Blobs | None, current: Blobs, following: Blobs | None) -> np.ndarray:
    """This frame's moving pixels, holes filled: its objects where a neighbouring frame
    moves too, and its edge blobs, whole, that touch a neighbouring frame's object: one
    crossing the frame's edge was inside the frame just before or after, a strip along the
    edge was not. At the plate's ends the only neighbour decides."""
    if previous is None and following is None:
        return fill_holes(current.objects)
    before, after = (None if b is None else b.objects | b.edge for b in (previous, following))
    kept = temporal(before, current.objects, after)
    before, after = (None if b is None else b.objects for b in (previous, following))
    near = temporal(before, current.edge, after)
    _, labels = cv2.connectedComponents(current.edge.astype(np.uint8), connectivity=8)
    touched = np.unique(labels[near])
    return fill_holes(kept | np.isin(labels, touched[touched > 0]))


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
    raws: dict[int, Blobs] = {}
    for i in range(count):
        judges = witnesses(i, count)
        # Judges on both sides forgive each other's disocclusions; judges on one side see
        # the same ones, so each frame's depth must say what it could not see. Only then:
        # a wrong depth on the moving object itself would hide it.
        one_side = len(judges) == 2 and (judges[0] - i) * (judges[1] - i) > 0
        raws[i] = blobs(raw_motion(view(i), [view(j) for j in judges], hidden=one_side))
        if i >= 1:
            yield i - 1, refine(view(i - 1), confirmed(raws.get(i - 2), raws[i - 1], raws[i]))
            raws.pop(i - 2, None)
    last = confirmed(raws.get(count - 2), raws[count - 1], None)
    yield count - 1, refine(view(count - 1), last)


def refine(ref: MotionView, mask: np.ndarray) -> np.ndarray:
    """The mask's edges moved onto the frame's: the residual's window blurs them by a few
    pixels, a guided filter on the frame puts them back where the image changes; with the
    frame's colours, GrabCut then settles them (and flat patches the motion missed)."""
    if not REFINE or not mask.any():
        return mask
    soft = guided_filter(ref.gray, mask.astype(np.float32), REFINE, EDGE_EPSILON)
    out: np.ndarray = soft > 0.5
    if ref.bgr is not None:
        out = fill_holes(to_colour_edges(ref.bgr, out))
    return out
