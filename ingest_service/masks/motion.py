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
MIN_AREA = 0.004  # blobs smaller than this share of the frame are dropped ...
FRAGMENT = 0.0005  # ... unless over this and holding SEED of the solve's rejected tracks
SEED = 3
HIDDEN = 0.3  # a point this much (relative) behind the other view's surface is hidden there
GEOMETRY = 0.2  # relative disagreement of two frames' depths that counts as unexplained
REFINE = 8  # guided filter radius for the mask's edges (0: none) ...
REFINE_BEFORE_COLOUR = 4  # ... and before GrabCut, which settles them on colour after it
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
    tracks: np.ndarray | None = None  # (n, 2) pixels where the solve saw something move


def unexplained(ref: MotionView, other: MotionView, *, hidden: bool = False) -> np.ndarray:
    """Per-pixel residual of `other` warped into `ref` through ref's depth; NaN where
    the warp lands outside `other`."""
    h, w = ref.gray.shape
    map_x, map_y, z = _warp(ref, other)
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


def _warp(ref: MotionView, other: MotionView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each of ref's pixels lands in `other` through ref's depth (x, y), and its depth
    there (z), in float32: each is an affine function of the ray's x and y, which vary along
    one axis each, scaled by the depth."""
    h, w = ref.gray.shape
    rx = ((np.arange(w) - ref.k[0, 2]) / ref.k[0, 0]).astype(np.float32)[None, :]
    ry = ((np.arange(h) - ref.k[1, 2]) / ref.k[1, 1]).astype(np.float32)[:, None]
    turn = (other.c2w[:3, :3].T @ ref.c2w[:3, :3]).astype(np.float32)
    shift = (other.c2w[:3, :3].T @ (ref.c2w[:3, 3] - other.c2w[:3, 3])).astype(np.float32)
    depth = ref.depth.astype(np.float32, copy=False)
    x, y, z = (depth * (t[0] * rx + t[1] * ry + t[2]) + c for t, c in zip(turn, shift, strict=True))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        map_x = other.k[0, 0] * x / z + other.k[0, 2]
        map_y = other.k[1, 1] * y / z + other.k[1, 2]
    return map_x.astype(np.float32), map_y.astype(np.float32), z


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
    small: np.ndarray  # bool: the other blobs over FRAGMENT


def blobs(mask: np.ndarray) -> Blobs:
    """The raw map opened and closed, its objects and edge blobs (holes not filled).

    An object has a solid core, a disc CORE wide, somewhere inside the frame: thin strips
    along depth edges have none. A blob that has one only if the frame's border counts as
    part of it is an edge blob: something entering or leaving the frame, or a strip along
    the edge where only one neighbour sees; the frames beside it tell them apart. Smaller
    blobs are kept aside: only the solve's rejected tracks make objects of them.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel, iterations=2)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    large = area >= MIN_AREA * mask.size
    large[0] = False
    core = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (CORE, CORE))

    def cored(border: int) -> np.ndarray:
        inside = cv2.erode(m, core, borderType=cv2.BORDER_CONSTANT, borderValue=border)
        out = np.zeros(count, bool)
        out[np.unique(labels[inside > 0])] = True
        return out

    objects = large & cored(0)
    edge = large & cored(1) & ~objects
    small = ~objects & ~edge & (area >= FRAGMENT * mask.size)
    small[0] = False
    return Blobs(objects[labels], edge[labels], small[labels])


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


def confirmed(
    previous: Blobs | None,
    current: Blobs,
    following: Blobs | None,
    tracks: np.ndarray | None = None,
) -> np.ndarray:
    """This frame's moving pixels, holes filled: its objects where a neighbouring frame
    moves too, and its edge blobs, whole, that touch a neighbouring frame's object: one
    crossing the frame's edge was inside the frame just before or after, a strip along the
    edge was not. At the plate's ends the only neighbour decides.

    `tracks`: where the camera solve saw tracks here that broke the static scene's
    geometry ((n, 2) pixels); an edge or small blob holding SEED of them moves too.
    """
    if previous is None and following is None:
        kept = current.objects.copy()
    else:
        before, after = (None if b is None else b.objects | b.edge for b in (previous, following))
        kept = temporal(before, current.objects, after)
        before, after = (None if b is None else b.objects for b in (previous, following))
        kept |= _whole(current.edge, temporal(before, current.edge, after))
    if tracks is not None and len(tracks):
        h, w = kept.shape
        col, row = np.round(tracks).astype(int).T
        on = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        _, labels = cv2.connectedComponents((current.edge | current.small).astype(np.uint8))
        held = np.bincount(labels[row[on], col[on]], minlength=labels.max() + 1)
        held[0] = 0
        kept |= (held >= SEED)[labels]
    return fill_holes(kept)


def _whole(blobs: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """The blobs (connected parts of `blobs`) that `touched` touches, whole."""
    _, labels = cv2.connectedComponents(blobs.astype(np.uint8), connectivity=8)
    found = np.unique(labels[touched])
    out: np.ndarray = np.isin(labels, found[found > 0])
    return out


def witnesses(i: int, count: int) -> list[int]:
    """The frames that judge frame i: STEP before and after. At the plate's ends, where one
    side is missing, up to three on the other side, STEP apart: they see the same
    disocclusions, which only depth can forgive, and a moving object's ghost (where it
    will be, or was) is unexplained only where all of them show it. Never more than
    2 STEP back: callers keep views that far behind."""
    frames = [j for j in (i - STEP, i + STEP) if 0 <= j < count]
    if len(frames) == 1:
        side = frames[0] - i
        reach = 3 if side > 0 else 2
        frames = [i + side * n for n in range(1, reach + 1) if 0 <= i + side * n < count]
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
        one_side = len(judges) > 1 and len({j > i for j in judges}) == 1
        raws[i] = blobs(raw_motion(view(i), [view(j) for j in judges], hidden=one_side))
        if i >= 1:
            ref = view(i - 1)
            yield i - 1, refine(ref, confirmed(raws.get(i - 2), raws[i - 1], raws[i], ref.tracks))
            raws.pop(i - 2, None)
    ref = view(count - 1)
    yield count - 1, refine(ref, confirmed(raws.get(count - 2), raws[count - 1], None, ref.tracks))


def refine(ref: MotionView, mask: np.ndarray) -> np.ndarray:
    """The mask's edges moved onto the frame's: the residual's window blurs them by a few
    pixels, a guided filter on the frame puts them back where the image changes; with the
    frame's colours, GrabCut then settles them (and flat patches the motion missed)."""
    if not REFINE or not mask.any():
        return mask
    radius = REFINE if ref.bgr is None else REFINE_BEFORE_COLOUR
    soft = guided_filter(ref.gray, mask.astype(np.float32), radius, EDGE_EPSILON)
    out: np.ndarray = soft > 0.5
    if ref.bgr is not None:
        out = fill_holes(to_colour_edges(ref.bgr, out))
    return out
