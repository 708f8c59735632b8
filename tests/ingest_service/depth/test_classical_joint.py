"""Classical depth with moving pixels left out, its fill and its edge-aware upsampling."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from ingest_service.depth.classical import ClassicalDepth, _fill
from ingest_service.depth.moving import left_out
from ingest_service.depth.upsample import guided_upsample
from ingest_service.samples.scene import Scene, motion

W, H, F = 240, 135, 190.0


def _clip(frames: int, first: int) -> tuple[Any, list[np.ndarray], list[np.ndarray]]:
    """A dolly past the rising box, rendered in memory, as the depth backend reads it."""
    scene, cams = Scene(mover=True), motion("dolly", 48)[first : first + frames]
    rendered = [scene.render(c, F, W, H, first + i) for i, c in enumerate(cams)]
    k = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1.0]])
    rng = np.random.default_rng(0)
    z, m = rendered[0][1], rendered[0][2]
    v, u = rng.integers(0, H, 400), rng.integers(0, W, 400)
    keep = ~m[v, u]
    d = z[v, u][keep]
    cam = np.stack([(u[keep] - W / 2) / F * d, (v[keep] - H / 2) / F * d, d], -1)
    inputs = SimpleNamespace(
        width=W,
        height=H,
        k=k,
        xyz=cam @ cams[0][:3, :3].T + cams[0][:3, 3],
        files=list(range(frames)),
        solution=SimpleNamespace(frames=[SimpleNamespace(c2w=c) for c in cams]),
        bgr=lambda i: cv2.cvtColor(rendered[i][0], cv2.COLOR_RGB2BGR),
    )
    return inputs, [r[1] for r in rendered], [r[2] for r in rendered]


def test_moving_pixels_are_left_out_and_the_rest_is_measured() -> None:
    inputs, truth, moving = _clip(10, 4)
    backend = ClassicalDepth(inputs, 480)
    frames = list(backend.frames())
    # What the depth's motion test left out is about the moving box's share of the frame.
    share = backend.summary().parameters["moving_fraction"]
    assert 0.7 < share / np.mean([m.mean() for m in moving]) < 1.3
    assert [f.index for f in frames] == list(range(10))
    flagged, static_flagged, errors = [], [], []
    for frame, z, m in zip(frames, truth, moving, strict=True):
        unknown = frame.confidence == 0
        flagged.append(unknown[m].mean())
        static_flagged.append(unknown[~m].mean())
        known = ~unknown & ~m
        errors.append(np.median(frame.depth[known] / z[known]))
    scale = 1 / np.median(errors)  # true cameras and points: the scale is already 1
    assert abs(scale - 1) < 0.05
    assert np.mean(flagged) > 0.9  # the moving box is marked unknown (confidence 0) ...
    assert np.mean(static_flagged) < 0.45  # ... and most of the rest is measured
    for frame, z, m in zip(frames, truth, moving, strict=True):
        known = frame.confidence > 0
        rel = np.abs(frame.depth - z) / z
        assert rel[known & ~m].mean() < 0.07  # 240 px wide: a pixel is a lot of depth
        assert rel[known].mean() < 0.1  # with the box's edges the motion test misses


def test_a_moving_blob_takes_the_nearest_depth_around_it_not_the_wall_behind() -> None:
    depth = np.full((60, 80), 10.0, np.float32)
    depth[45:, :] = 3.0  # the floor it stands on, near the camera
    blob = np.zeros_like(depth, bool)
    blob[20:48, 30:50] = True
    depth[blob] = 10.0  # stereo painted it with the wall
    out = left_out(depth, blob)
    assert np.allclose(out[blob], 3.0)
    assert np.array_equal(out[~blob], depth[~blob])


def test_a_floating_blob_is_no_farther_than_the_nearest_surface_the_frame_measures() -> None:
    depth = np.full((60, 80), 10.0, np.float32)
    depth[50:, :] = np.linspace(4.0, 3.0, 10)[:, None]  # the floor, well below the blob
    blob = np.zeros_like(depth, bool)
    blob[10:30, 30:50] = True  # all around it is the wall
    measured = np.ones_like(blob)
    measured[:5, :5] = False
    depth[:5, :5] = 0.5  # a filled-in guess, not a measurement: it does not count
    out = left_out(depth, blob, measured)
    assert np.allclose(out[blob], 3.0, rtol=0.02)
    assert np.array_equal(out[~blob], depth[~blob])


def test_unsure_pixels_are_filled_from_sure_ones_in_inverse_depth() -> None:
    depth = np.full((40, 40), 4.0, np.float32)
    depth[:, 20:] = 8.0
    unsure = np.zeros_like(depth, bool)
    unsure[10:30, 5:15] = True  # inside the near half: filled with the near depth
    noisy = np.where(unsure, 100.0, depth).astype(np.float32)
    filled = _fill(noisy, unsure)
    assert np.allclose(filled[unsure], 4.0, rtol=0.02)
    assert np.array_equal(filled[~unsure], depth[~unsure])


def test_upsampled_depth_follows_the_frames_edge() -> None:
    rng = np.random.default_rng(3)
    size = (128, 96)
    edge = 61  # not on the low-resolution grid
    image = np.full((96, 128, 3), 60, np.uint8)
    image[:, edge:] = 200
    image = np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)
    truth = np.where(np.arange(128) < edge, 2.0, 6.0)[None, :].repeat(96, 0)
    small = cv2.resize(truth.astype(np.float32), (32, 24), interpolation=cv2.INTER_AREA)
    guided = guided_upsample(small, image, size)
    plain = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
    band = slice(edge - 6, edge + 6)
    guided_error = np.abs(guided[:, band] - truth[:, band]).mean()
    plain_error = np.abs(plain[:, band] - truth[:, band]).mean()
    assert guided_error < 0.9 * plain_error
    assert guided.min() >= 2.0 - 1e-4 and guided.max() <= 6.0 + 1e-4
