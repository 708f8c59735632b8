"""The synthetic room: lens distortion, the benchmark motions, the close mover, the plates."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.camera.lens import Lens
from ingest_service.samples.scene import (
    MOTIONS,
    PLATES,
    Scene,
    look_at,
    motion,
    render_plate_spec,
)
from ingest_service.samples.shapes import Mover

W, H = 160, 90
F = 560 / 960 * W
K1, K2 = -0.2, 0.05  # the strongest benchmark lens
LENS = Lens(F, F, W / 2, H / 2, K1, K2)  # COLMAP pixel convention, as published


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene()


def _pixels(width: int = W, height: int = H) -> np.ndarray:
    """Every pixel's centre in COLMAP's convention (the first at 0.5), shape (h, w, 2)."""
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return np.stack([u, v], -1)


def _forward(c2w: np.ndarray) -> np.ndarray:
    return c2w[:3, 2]


def test_no_distortion_is_the_pinhole_render(scene: Scene) -> None:
    c2w = motion("handheld", 8)[5]
    plain = scene.render(c2w, F, W, H, 5)
    zero = scene.render(c2w, F, W, H, 5, k1=0.0, k2=0.0)
    for a, b in zip(plain, zero, strict=True):
        assert np.array_equal(a, b)
    # A level camera 1.6 m up sees the floor at depth 1.6 / y for normalised image row y.
    level = look_at(np.array([0.0, 1.6, 1.0]), np.array([0.0, 1.6, 14.0]))
    _, depth, _ = scene.render(level, F, W, H)
    y = (np.arange(H) + 0.5 - H / 2) / F
    bottom_row = depth[-1, W // 2 - 5 : W // 2 + 5]
    np.testing.assert_allclose(bottom_row, 1.6 / y[-1], rtol=1e-9)


def test_distorted_pixels_see_along_the_lens_rays(scene: Scene) -> None:
    # Looking steeply down at the floor: every pixel sees the floor plane y = 0.
    eye = np.array([0.0, 1.6, 0.0])
    c2w = look_at(eye, np.array([0.0, 0.0, 0.9]))
    _, depth, _ = scene.render(c2w, F, W, H, k1=K1, k2=K2)
    pixels = _pixels()

    def floor_height(rays: np.ndarray) -> np.ndarray:
        xyz = np.concatenate([rays, np.ones((*rays.shape[:2], 1))], -1) * depth[..., None]
        heights: np.ndarray = (xyz @ c2w[:3, :3].T + eye)[..., 1]
        return heights

    # Back-projected through the lens, the reported depths put every point on the floor...
    through_lens = floor_height(LENS.undistort_normalised(LENS.normalise(pixels)))
    np.testing.assert_allclose(through_lens, 0.0, atol=1e-9)
    # ...and the pinhole projection of those points, distorted, lands on the pixel itself.
    rays = LENS.undistort_normalised(LENS.normalise(pixels))
    np.testing.assert_allclose(LENS.distort_pixels(LENS.to_pixels(rays)), pixels, atol=1e-6)
    # Read as a pinhole the corners are far off the floor: the distortion is real.
    as_pinhole = floor_height(LENS.normalise(pixels))
    assert np.abs(as_pinhole[[0, -1]][:, [0, -1]]).min() > 0.05


def test_distorted_render_is_the_pinhole_render_remapped(scene: Scene) -> None:
    c2w = motion("handheld", 8)[4]
    distorted = scene.render(c2w, F, W, H, k1=K1, k2=K2).image.astype(float)
    # Undistorted render at 4x, so its texture is resolved finely enough to resample.
    fine = scene.render(c2w, 4 * F, 4 * W, 4 * H).image
    source = LENS.undistort_pixels(_pixels())
    # cv2.remap indexes pixel centres at integers: COLMAP's x at 1x is 4x - 0.5 at 4x.
    map_x, map_y = (4 * source - 0.5).astype(np.float32).transpose(2, 0, 1)
    remapped = cv2.remap(fine, map_x, map_y, cv2.INTER_LINEAR).astype(float)
    pinhole = scene.render(c2w, F, W, H).image.astype(float)
    inside = (source[..., 0] > 4) & (source[..., 0] < W - 4)
    inside &= (source[..., 1] > 4) & (source[..., 1] < H - 4)
    assert inside.mean() > 0.6
    remap_error = np.abs(remapped - distorted)[inside].mean()
    unmapped_error = np.abs(pinhole - distorted)[inside].mean()
    assert remap_error < 10
    assert remap_error < 0.3 * unmapped_error


def test_pan_travel_pans_tilts_and_slides() -> None:
    cams = motion("pan_travel", 72)
    forward = np.array([_forward(c) for c in cams])
    pan = np.degrees(np.arctan2(forward[:, 0], forward[:, 2]))
    tilt = np.degrees(np.arcsin(forward[:, 1]))  # world +Y is up
    assert pan.min() == pytest.approx(-20, abs=0.5)
    assert pan.max() == pytest.approx(20, abs=0.5)
    assert np.abs(tilt).max() == pytest.approx(8, abs=0.5)
    centres = np.array([c[:3, 3] for c in cams])
    assert np.linalg.norm(centres[-1] - centres[0]) == pytest.approx(0.5)
    assert np.ptp(centres[:, 1:], axis=0).max() == 0  # sideways only
    shorter = motion("pan_travel", 72, travel=0.3)
    assert np.linalg.norm(shorter[-1][:3, 3] - shorter[0][:3, 3]) == pytest.approx(0.3)


def test_walk_moves_forward_with_shake() -> None:
    cams = motion("walk", 120, seed=5)
    centres = np.array([c[:3, 3] for c in cams])
    heading = np.mean([_forward(c) for c in cams], axis=0)
    travelled = (centres[-1] - centres[0]) @ heading / np.linalg.norm(heading)
    assert 2.5 < travelled < 3.5
    assert centres[-1, 2] - centres[0, 2] > 2.5  # into the room, toward the back wall
    # Hand shake: the view direction wanders frame to frame, unlike a smooth look-at.
    turns = [
        np.degrees(np.arccos(np.clip(_forward(a) @ _forward(b), -1, 1)))
        for a, b in itertools.pairwise(cams)
    ]
    assert max(turns) > 0.2


def test_every_motion_is_named_and_locked_off_holds_still() -> None:
    for kind in MOTIONS:
        assert len(motion(kind, 12)) == 12
    locked = motion("locked_off", 10)
    assert all(np.array_equal(c, locked[0]) for c in locked)
    with pytest.raises(ValueError, match="unknown motion"):
        motion("crane", 10)


def test_close_mover_crosses_the_frame_large_and_near() -> None:
    spec = PLATES["close_mover"]
    scene = Scene(mover=spec.mover, frames=spec.frames)
    cams = motion(spec.motion, spec.frames)
    coverage, columns = [], []
    for frame in range(0, spec.frames, 4):
        _, depth, mask = scene.render(cams[frame], spec.focal(W), W, H, frame)
        coverage.append(mask.mean())
        if mask.any():
            columns.append(np.nonzero(mask)[1].mean())
            assert depth[mask].min() > 1.8 and depth[mask].max() < 3.5
    assert max(coverage) > 0.25  # a quarter of the frame or more at its widest
    assert np.mean(np.array(coverage) > 0) > 0.5  # on screen for most of the plate
    assert columns[0] < W / 4 and columns[-1] > 3 * W / 4  # enters left, leaves right
    # The original small mover is unchanged by the option.
    (small,) = Scene(mover=True).movers
    np.testing.assert_array_equal(small.velocity, [0.03, 0.04, 0.0])


def test_plate_table_and_render_plate_spec(tmp_path: Path) -> None:
    assert all(48 <= spec.frames <= 120 for spec in PLATES.values())
    assert PLATES["walk"].frames == 120
    assert PLATES["long_lens"].focal(960) == pytest.approx(1450)
    assert (PLATES["wide_lens_strong"].k1, PLATES["wide_lens_strong"].k2) == (-0.2, 0.05)
    spec = dataclasses.replace(PLATES["wide_lens"], frames=3)
    path = tmp_path / "wide.mp4"
    cameras, lens = render_plate_spec(path, spec, W, H)
    assert len(cameras) == 3
    assert lens.fx == lens.fy == pytest.approx(650 / 960 * W)
    assert (lens.cx, lens.cy, lens.k1, lens.k2) == (W / 2, H / 2, -0.12, 0.03)
    video = cv2.VideoCapture(str(path))
    decoded = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        decoded.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float))
    video.release()
    assert len(decoded) == 3
    # Compared in luma: 4:2:0 chroma cannot hold the texture's per-pixel colour at 160x90.
    truth = Scene(frames=3).render(cameras[1], lens.fx, W, H, 1, k1=lens.k1, k2=lens.k2).image
    truth_luma = cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY).astype(float)
    assert np.abs(decoded[1] - truth_luma).mean() < 8
    assert np.abs(decoded[0] - truth_luma).mean() > 20  # the camera moved between frames


def _world_points(depth: np.ndarray, mask: np.ndarray, c2w: np.ndarray, f: float) -> np.ndarray:
    """Back-projected world points of the masked pixels (pinhole, centred)."""
    v, u = np.nonzero(mask)
    z = depth[v, u]
    h, w = mask.shape
    cam = np.stack([(u + 0.5 - w / 2) / f * z, (v + 0.5 - h / 2) / f * z, z], -1)
    out: np.ndarray = cam @ c2w[:3, :3].T + c2w[:3, 3]
    return out


def _plate_mover(name: str) -> tuple[Scene, Mover, list[np.ndarray], float]:
    """A plate's scene, its one mover, its cameras and its focal length at W."""
    spec = PLATES[name]
    scene = Scene(mover=spec.mover, frames=spec.frames)
    (mover,) = scene.movers
    return scene, mover, motion(spec.motion, spec.frames), spec.focal(W)


def test_ball_bounces_on_the_floor_and_leaves_the_frame() -> None:
    scene, ball, cams, f = _plate_mover("bouncing_ball")
    radius = float(np.min(ball.box.hi - ball.box.lo)) / 2
    # On the floor at the start of each hop, 1 m up (its lowest point) half a hop later.
    for frame, lowest in ((22, 0.0), (33, 1.0)):
        _, depth, mask = scene.render(cams[frame], f, W, H, frame)
        points = _world_points(depth, mask, cams[frame], f)
        centre = (ball.box.lo + ball.box.hi) / 2 + ball.offset(frame)
        # Every pixel it covers lies on the ball's surface, not its box's.
        distance = np.linalg.norm(points - centre, axis=1)
        np.testing.assert_allclose(distance, radius, rtol=1e-6)
        assert points[:, 1].min() == pytest.approx(lowest, abs=0.08)
        assert centre[1] - radius == pytest.approx(lowest, abs=1e-9)
    coverage = [scene.render(cams[i], f, W, H, i).moving.mean() for i in (10, 40, 60)]
    assert coverage[0] > 0.01 and coverage[1] > 0.01 and coverage[2] == 0


def test_turning_box_slides_and_turns_with_its_texture() -> None:
    scene, box, cams, f = _plate_mover("turning_box")
    half = (box.box.hi - box.box.lo) / 2

    def at_rest(points: np.ndarray, frame: int, degrees_per_frame: float) -> np.ndarray:
        """Points with the slide and a turn about the vertical undone, about the centre."""
        angle = np.radians(degrees_per_frame) * frame
        c, s = np.cos(angle), np.sin(angle)
        local = points - ((box.box.lo + box.box.hi) / 2 + box.velocity * frame)
        x, z = c * local[:, 0] - s * local[:, 2], s * local[:, 0] + c * local[:, 2]
        return np.stack([x, local[:, 1], z], -1)

    seen = {}
    for frame in (6, 24):
        image, depth, mask = scene.render(cams[frame], f, W, H, frame)
        points = _world_points(depth, mask, cams[frame], f)
        # Turned back 3 degrees a frame, the points lie on the box as it stood at frame 0,
        # on its surface; not turned back, they do not fit it.
        local = at_rest(points, frame, 3.0)
        assert np.all(np.abs(local) <= half + 1e-6)
        assert np.abs(np.abs(local) / half).max(axis=1).min() > 1 - 1e-6
        assert np.any(np.abs(at_rest(points, frame, 0.0)) > half + 0.05)
        seen[frame] = (local, image[mask])
    # The same surface point has the same colour at both frames: the texture turns along.
    (a, colour_a), (b, colour_b) = seen[6], seen[24]
    nearest = np.argmin(np.linalg.norm(a[:, None] - b[None], axis=2), axis=1)
    close = np.linalg.norm(a - b[nearest], axis=1) < 0.005
    assert close.sum() > 20
    diff = np.abs(colour_a[close].astype(int) - colour_b[nearest[close]])
    assert np.median(diff) < 12
