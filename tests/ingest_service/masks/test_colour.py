"""Motion masks settled on the object's colours."""

from __future__ import annotations

import cv2
import numpy as np

from ingest_service.masks.colour import to_colour_edges


def _textured(rng: np.random.Generator, shape: tuple[int, int], low: int, high: int) -> np.ndarray:
    noise = rng.integers(low, high, (*shape, 3)).astype(np.uint8)
    out: np.ndarray = cv2.GaussianBlur(noise, (0, 0), 1.0)
    return out


def test_a_flat_patch_the_motion_missed_joins_the_object_it_is_coloured_like() -> None:
    rng = np.random.default_rng(3)
    h, w = 200, 300
    image = _textured(rng, (h, w), 0, 120)
    image[..., 2] = 0  # a busy background with no red in it
    obj = np.zeros((h, w), bool)
    obj[60:150, 100:220] = True
    reds = _textured(rng, (h, w), 60, 140)
    reds[..., 2] = 220
    image[obj] = reds[obj]  # a busy red object with plain patches of one colour
    image[100:130, 110:150] = image[60:70, 160:220] = (100, 100, 220)
    # The motion test leaves out the plain patch on its edge (no residual there) and
    # stops 3 px short.
    found = np.zeros((h, w), bool)
    found[63:147, 103:217] = True
    found[63:71, 160:217] = False
    refined = to_colour_edges(image, found)

    def iou(a: np.ndarray) -> float:
        return float((a & obj).sum() / (a | obj).sum())

    assert iou(found) < 0.88
    assert iou(refined) > 0.97
    assert not refined[:55].any() and not refined[155:].any()


def test_an_object_like_its_surroundings_keeps_the_motion_mask() -> None:
    rng = np.random.default_rng(4)
    image = _textured(rng, (200, 300), 0, 255)  # one texture everywhere: colour says nothing
    found = np.zeros((200, 300), bool)
    found[60:150, 100:220] = True
    refined = to_colour_edges(image, found)
    grown = refined.sum() / found.sum()
    assert 0.7 <= grown <= 1.5
    assert not refined[:40].any() and not refined[170:].any()
    assert not to_colour_edges(image, np.zeros_like(found)).any()
