"""A motion mask's edges moved onto the object's colours with GrabCut.

The motion test finds an object by what its move leaves unexplained, so where its texture
is flat (a plain patch at its edge, the same colour frame to frame) the mask stops short,
and the residual's window puts its other edges a few pixels off. A colour model of the
object (the mask's core) against its surroundings (a ring around the mask), with GrabCut's
graph cut along the frame's edges, decides the band in between: the plain patch joins the
object it is coloured like, and the mask's edge lands on the frame's.
"""

from __future__ import annotations

import cv2
import numpy as np

SURE = 9  # pixels inside the mask's edge that are the object for certain
RING = 12  # pixels outside it that may still be the object; beyond, background
ITERATIONS = 1
GROWTH = (0.7, 1.5)  # a result this much smaller or larger than the mask is not trusted


def to_colour_edges(bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`mask` (bool) refined on `bgr` (uint8, the same size), in a window around it."""
    if not mask.any():
        return mask
    m = mask.astype(np.uint8)
    sure = cv2.erode(m, _disc(SURE)) > 0
    if not sure.any():
        return mask  # too thin to hold a colour model of its own
    ring = cv2.dilate(m, _disc(RING)) > 0
    rows, cols = np.nonzero(ring)
    window = np.s_[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    labels = np.full(ring[window].shape, cv2.GC_BGD, np.uint8)
    labels[ring[window]] = cv2.GC_PR_BGD
    labels[mask[window]] = cv2.GC_PR_FGD
    labels[sure[window]] = cv2.GC_FGD
    background, foreground = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(
        np.ascontiguousarray(bgr[window]),
        labels,
        (0, 0, 0, 0),  # unused: the labels say where the object is
        background,
        foreground,
        ITERATIONS,
        cv2.GC_INIT_WITH_MASK,
    )
    out = np.zeros_like(mask)
    out[window] = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    low, high = GROWTH
    if not low * mask.sum() <= out.sum() <= high * mask.sum():
        return mask
    return out


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
