"""The motion test's witnesses at the plate's ends, and masks as filled objects."""

from __future__ import annotations

import numpy as np

from ingest_service.masks.motion import STEP, blobs, clean, confirmed, fill_holes, witnesses


def test_each_frame_is_judged_by_two_frames_or_more_even_at_the_plates_ends() -> None:
    count = 40
    assert witnesses(20, count) == [20 - STEP, 20 + STEP]
    assert witnesses(0, count) == [STEP, 2 * STEP, 3 * STEP]
    assert witnesses(1, count) == [1 + STEP, 1 + 2 * STEP, 1 + 3 * STEP]
    # Views are kept 2 STEP behind: at the end, two judges.
    assert witnesses(count - 1, count) == [count - 1 - STEP, count - 1 - 2 * STEP]
    assert witnesses(0, STEP + 1) == [STEP]  # too short for a second
    assert witnesses(0, 2 * STEP + 1) == [STEP, 2 * STEP]


def test_holes_inside_an_object_are_filled_but_the_border_is_not_closed() -> None:
    ring = np.zeros((50, 60), bool)
    ring[10:40, 10:40] = True
    ring[18:32, 18:32] = False  # flat texture in the middle: no residual there
    ring[:, 50:] = True  # a band on the frame's edge: what lies beside it stays outside
    ring[20:30, 55:] = False
    filled = fill_holes(ring)
    assert filled[10:40, 10:40].all()
    assert not filled[20:30, 55:].any()
    assert not filled[:, :10].any()


def test_clean_keeps_a_filled_object_and_drops_speckle() -> None:
    rng = np.random.default_rng(5)
    mask = rng.random((120, 160)) > 0.995  # isolated speckle
    mask[30:90, 40:100] = True
    mask[50:70, 60:80] = False
    out = clean(mask)
    assert out[32:88, 42:98].all()
    assert out.sum() < 60 * 60 * 1.05


def test_a_thin_strip_along_a_depth_edge_is_not_an_object() -> None:
    mask = np.zeros((270, 480), bool)
    mask[40:250, 100:110] = True  # 10 px wide, 210 tall: 1.6 % of the frame, no solid core
    mask[100:160, 300:360] = True  # a box
    out = clean(mask)
    assert not out[:, 95:115].any()
    assert out[102:158, 302:358].all()


def test_a_strip_along_the_frames_edge_is_kept_only_beside_an_object() -> None:
    h, w = 270, 480
    strip = np.zeros((h, w), bool)
    strip[:, w - 13 :] = True  # along the right edge, where only one neighbour sees
    parts = blobs(strip)
    assert not parts.objects.any() and parts.edge[:, w - 13 :].all()
    assert not clean(strip).any()
    # Beside nothing that moves (the frames around are empty): not an object.
    nothing = blobs(np.zeros((h, w), bool))
    assert not confirmed(nothing, parts, nothing).any()
    # Something leaving the frame: it was inside it a frame before.
    inside = np.zeros((h, w), bool)
    inside[100:200, w - 60 : w - 5] = True
    before = blobs(inside)
    assert before.objects.any()
    out = confirmed(before, parts, nothing)
    assert out[:, w - 13 :].all()  # the whole edge blob, not just where it touches
    # An edge blob is not enough to keep the next one: a chain would never end.
    assert not confirmed(parts, parts, nothing).any()


def test_the_solves_rejected_tracks_make_objects_of_small_blobs() -> None:
    h, w = 270, 480
    raw = np.zeros((h, w), bool)
    raw[100:118, 200:216] = True  # 0.2 % of the frame: under the least object (corners open)
    raw[:, w - 13 :] = True  # a strip along the frame's edge
    parts = blobs(raw)
    assert parts.small[102:116, 202:214].all() and parts.edge[:, w - 13 :].all()
    nothing = blobs(np.zeros((h, w), bool))
    assert not confirmed(nothing, parts, nothing).any()
    on_blob = np.array([[205.0, 105.0], [210.0, 110.0], [203.0, 115.0]])  # (x, y)
    kept = confirmed(nothing, parts, nothing, on_blob)
    assert kept[102:116, 202:214].all() and not kept[:, w - 13 :].any()
    kept = confirmed(nothing, parts, nothing, np.array([[w - 5.0, y] for y in (20, 90, 200)]))
    assert kept[:, w - 13 :].all() and not kept[100:118, 200:216].any()
    # Two tracks, or tracks off every blob (and off the frame), are not enough.
    assert not confirmed(nothing, parts, nothing, on_blob[:2]).any()
    elsewhere = np.array([[50.0, 50.0], [60.0, 60.0], [70.0, 70.0], [-4.0, 900.0]])
    assert not confirmed(nothing, parts, nothing, elsewhere).any()
