"""Sample plates with a known camera: a textured room with boxes, ray cast in numpy.

`ingest-service sample-plate --motion orbit` makes one to try the camera solve and the DCC
exports on; the camera tests and bench/camera.py score solves against the true cameras.
Each motion returns OpenCV camera-to-world matrices; frames are rendered at any size,
optionally through a lens with radial distortion, and encoded to H.264 like a real plate.
`PLATES` names the benchmark plates that `render_plate_spec` renders. Scene units are
metres: the room is 16 m wide, its back wall at z = 14.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from ingest_service.camera.geometry import matrix_from_nuke_zxy
from ingest_service.camera.lens import Lens
from ingest_service.samples.plate import ffmpeg_exe
from ingest_service.samples.shapes import Box, MoverKind, hit_distance, movers, surface_coords

TEXTURE = 1024


def _texture(seed: int) -> np.ndarray:
    """Rich, non-repeating detail (noise octaves and random marks) so SIFT finds features."""
    rng = np.random.default_rng(seed)
    tex = np.zeros((TEXTURE, TEXTURE, 3), np.float32)
    for octave in (8, 32, 128):
        noise = rng.random((octave, octave, 3)).astype(np.float32)
        tex += cv2.resize(noise, (TEXTURE, TEXTURE), interpolation=cv2.INTER_CUBIC) / 3
    img = (np.clip(tex, 0, 1) * 255).astype(np.uint8)
    for _ in range(400):
        center = tuple(int(v) for v in rng.integers(0, TEXTURE, 2))
        color = tuple(int(v) for v in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            cv2.circle(img, center, int(rng.integers(4, 30)), color, -1)
        else:
            w, h = (int(v) for v in rng.integers(6, 40, 2))
            cv2.rectangle(img, center, (center[0] + w, center[1] + h), color, -1)
    return img


def _sample(tex: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear texture lookups (remap wants a 2D map under 32k a side: fold the list)."""
    n, width = len(x), 1024
    rows = -(-n // width)
    map_x = np.zeros(rows * width, np.float32)
    map_y = np.zeros(rows * width, np.float32)
    map_x[:n], map_y[:n] = x, y
    out = cv2.remap(
        tex,
        map_x.reshape(rows, width),
        map_y.reshape(rows, width),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_WRAP,
    )
    return out.reshape(-1, 3)[:n]


@functools.lru_cache(maxsize=4)
def _camera_rays(f: float, width: int, height: int, k1: float, k2: float) -> np.ndarray:
    """Camera-space ray (x, y, 1) through each pixel centre; the same for every frame.

    With distortion, a pixel sees what an ideal pinhole would see at its undistorted
    normalised coordinates, so the image is exactly what `Lens.distort_pixels` predicts.
    """
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x, y = (u - width / 2) / f, (v - height / 2) / f
    if k1 or k2:
        xy = Lens(f, f, 0.0, 0.0, k1, k2).undistort_normalised(np.stack([x, y], -1))
        x, y = xy[..., 0], xy[..., 1]
    rays = np.stack([x, y, np.ones_like(u)], -1)
    rays.setflags(write=False)
    return rays


class Rendered(NamedTuple):
    image: np.ndarray  # RGB uint8
    depth: np.ndarray  # true z-depth (distance along the camera's +Z axis); inf where empty
    moving: np.ndarray  # bool: pixels on something that moves on its own


class Scene:
    """A room (floor, three walls) and a few boxes, all textured; optionally something that
    moves on its own: `mover=True` is a box rising and crossing the room in front of the
    camera, `mover="close"` a large box walking across the frame 2 to 3 m from a dolly's
    camera, crossing in `frames` frames, `"ball"` a ball bouncing on the floor in front of
    a dolly, `"yaw"` a box sliding and turning in front of the orbit's target."""

    def __init__(self, seed: int = 7, *, mover: MoverKind = False, frames: int = 96) -> None:
        self.boxes = [
            Box(np.array([-8.0, -0.5, -8.0]), np.array([8.0, 0.0, 14.0]), 0),  # floor slab
            Box(np.array([-8.0, 0.0, 14.0]), np.array([8.0, 8.0, 14.5]), 1),  # back wall
            Box(np.array([-8.5, 0.0, -8.0]), np.array([-8.0, 8.0, 14.0]), 2),  # left wall
            Box(np.array([8.0, 0.0, -8.0]), np.array([8.5, 8.0, 14.0]), 3),  # right wall
            Box(np.array([-2.5, 0.0, 6.0]), np.array([-0.5, 2.0, 8.0]), 4),
            Box(np.array([1.0, 0.0, 8.5]), np.array([2.5, 3.5, 10.0]), 5),
            Box(np.array([-5.0, 0.0, 9.0]), np.array([-3.5, 1.0, 10.5]), 6),
        ]
        self.movers = movers(mover, frames)
        count = len(self.boxes) + len(self.movers)
        self.textures = [_texture(seed * 100 + i) for i in range(count)]

    def render(
        self,
        world_from_camera: np.ndarray,
        f: float,
        width: int,
        height: int,
        frame: int = 0,
        *,
        k1: float = 0.0,
        k2: float = 0.0,
    ) -> Rendered:
        """What the camera sees at `frame` (OpenCV axes, principal point centred), through a
        lens with radial distortion k1, k2 (none by default)."""
        dirs = _camera_rays(f, width, height, k1, k2) @ world_from_camera[:3, :3].T
        origin = world_from_camera[:3, 3]
        best = np.full((height, width), np.inf)
        image = np.zeros((height, width, 3), np.uint8)
        moving = np.zeros((height, width), bool)
        # A mover is intersected where it stood at frame 0, with the rays carried there
        # (a rigid move: ray parameters, hence depths, are unchanged), so its texture
        # travels and turns with it.
        shapes = [(box, np.eye(4), False) for box in self.boxes]
        shapes += [(m.box, m.to_rest(frame), m.ball) for m in self.movers]
        with np.errstate(divide="ignore", invalid="ignore"):
            for index, ((box, rest, ball), tex) in enumerate(
                zip(shapes, self.textures, strict=True)
            ):
                there = rest[:3, :3] @ origin + rest[:3, 3]
                rays = dirs @ rest[:3, :3].T
                t_near = hit_distance(box, there, rays, ball=ball)
                hit = (t_near > 1e-3) & (t_near < best)
                if not hit.any():
                    continue
                point = there + rays[hit] * t_near[hit][:, None]
                tu, tv = surface_coords(box, point, ball=ball)
                scale = TEXTURE / 6.0  # texels per world unit: tiles every 6 units
                image[hit] = _sample(tex, tu * scale % TEXTURE, tv * scale % TEXTURE)
                best[hit] = t_near[hit]
                moving[hit] = index >= len(self.boxes)
        # Rays are (x, y, 1) in camera space, so the ray parameter is the z-depth.
        return Rendered(image, best, moving)


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """OpenCV camera-to-world looking from eye to target with world +Y up (image up)."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])  # OpenCV: x right, y down, z forward
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c2w = np.eye(4)
    c2w[:3, :3] = np.stack([right, down, forward], axis=1)
    c2w[:3, 3] = eye
    return c2w


def _shake(base: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Hand-held wobble: a random walk in position (metres) and rotation (degrees)."""
    walk = np.cumsum(rng.normal(0, 0.01, (len(base), 3)), axis=0)
    for c2w, s in zip(base, walk, strict=True):
        c2w[:3, 3] += s
        c2w[:3, :3] = c2w[:3, :3] @ matrix_from_nuke_zxy(*(s * 20))
    return base


def motion(kind: str, frames: int, seed: int = 3, *, travel: float = 0.5) -> list[np.ndarray]:
    """Camera-to-world per frame for a named move through the room (`MOTIONS`); `travel`
    is how far (metres) the dolly under `pan_travel`'s tripod head slides."""
    rng = np.random.default_rng(seed)
    target = np.array([0.0, 1.2, 9.0])
    ts = np.linspace(0, 1, frames)
    if kind == "dolly":
        return [
            look_at(np.array([-2.0 + 4.0 * t, 1.6, 1.0 + 0.5 * t]), target + [t, 0, 0]) for t in ts
        ]
    if kind == "orbit":
        return [
            look_at(target + [6 * np.sin(a), 1.0, -6 * np.cos(a)], target)
            for a in np.radians(-35 + 70 * ts)
        ]
    if kind == "handheld":
        return _shake(
            [look_at(np.array([-1.0 + 2.0 * t, 1.6, 2.0 + 1.0 * t]), target) for t in ts], rng
        )
    if kind == "walk":  # 3 m forward at a slow walk: a step every 12 frames bobs the camera
        step = 2 * np.pi * np.arange(frames) / 12
        eyes = np.stack(
            [-0.3 + 0.4 * ts + 0.02 * np.sin(step / 2), 1.6 + 0.02 * np.cos(step), 3.0 * ts], -1
        )
        return _shake([look_at(eye, np.array([0.0, 1.3, 12.0])) for eye in eyes], rng)
    if kind == "pan":  # nodal: rotation only
        eye = np.array([0.0, 1.6, 1.0])
        angles = np.radians(-25 + 50 * ts)
        return [look_at(eye, eye + [np.sin(a), -0.05, np.cos(a)]) for a in angles]
    if kind == "pan_travel":  # pan ±20° and tilt ±8° on a head whose dolly barely moves
        eased = (1 - np.cos(np.pi * ts)) / 2
        pans, tilts = np.radians(-20 + 40 * eased), np.radians(8 * np.sin(2 * np.pi * ts))
        slide = [np.array([travel * (e - 0.5), 1.6, 1.0]) for e in eased]
        return [
            look_at(eye, eye + [np.sin(p) * np.cos(q), np.sin(q), np.cos(p) * np.cos(q)])
            for eye, p, q in zip(slide, pans, tilts, strict=True)
        ]
    if kind in ("static", "locked_off"):
        return [look_at(np.array([0.0, 1.6, 1.0]), target) for _ in ts]
    raise ValueError(f"unknown motion {kind!r}; motions: {', '.join(MOTIONS)}")


MOTIONS = ("dolly", "orbit", "handheld", "walk", "pan", "pan_travel", "static", "locked_off")


def render_plate(
    path: Path,
    kind: str,
    *,
    frames: int,
    width: int,
    height: int,
    f: float,
    fps: int = 24,
    mover: MoverKind = False,
    k1: float = 0.0,
    k2: float = 0.0,
    travel: float = 0.5,
) -> list[np.ndarray]:
    """Render and encode a plate; returns the true camera-to-world matrices."""
    scene = Scene(mover=mover, frames=frames)
    cameras = motion(kind, frames, travel=travel)
    encoder = subprocess.Popen(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-r",
            str(fps),
            "-i",
            "-",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "14",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        stdin=subprocess.PIPE,
    )
    assert encoder.stdin is not None
    for frame, c2w in enumerate(cameras):
        image = scene.render(c2w, f, width, height, frame, k1=k1, k2=k2).image
        encoder.stdin.write(image.tobytes())
    encoder.stdin.close()
    if encoder.wait(timeout=600) != 0:
        raise RuntimeError("ffmpeg could not encode the synthetic plate")
    return cameras


@dataclass(frozen=True)
class PlateSpec:
    """A named benchmark plate; the focal length scales with the frame's width."""

    motion: str
    frames: int
    f_over_width: float
    k1: float = 0.0
    k2: float = 0.0
    mover: MoverKind = False
    travel: float = 0.5  # pan_travel only: metres the camera slides

    def focal(self, width: int) -> float:
        return self.f_over_width * width


# Focal lengths are given for a 960 px wide frame.
PLATES: dict[str, PlateSpec] = {
    "dolly": PlateSpec("dolly", 96, 750 / 960),
    "orbit": PlateSpec("orbit", 96, 750 / 960),
    "handheld": PlateSpec("handheld", 96, 750 / 960),
    "walk": PlateSpec("walk", 120, 750 / 960),
    "long_lens": PlateSpec("dolly", 72, 1450 / 960),
    "wide_lens": PlateSpec("handheld", 96, 650 / 960, k1=-0.12, k2=0.03),
    "wide_lens_strong": PlateSpec("handheld", 96, 560 / 960, k1=-0.2, k2=0.05),
    "pan_travel": PlateSpec("pan_travel", 72, 1000 / 960, travel=0.5),
    "locked_off": PlateSpec("locked_off", 48, 750 / 960),
    "close_mover": PlateSpec("dolly", 96, 750 / 960, mover="close"),
    "bouncing_ball": PlateSpec("dolly", 96, 750 / 960, mover="ball"),
    "turning_box": PlateSpec("orbit", 96, 750 / 960, mover="yaw"),
}


class PlateTruth(NamedTuple):
    cameras: list[np.ndarray]  # OpenCV camera-to-world per frame
    lens: Lens  # COLMAP's pixel convention, like published intrinsics: centre (W/2, H/2)


def render_plate_spec(
    path: Path, spec: PlateSpec, width: int, height: int, *, fps: int = 24
) -> PlateTruth:
    """Render and encode a benchmark plate; returns its true cameras and lens."""
    f = spec.focal(width)
    cameras = render_plate(
        path,
        spec.motion,
        frames=spec.frames,
        width=width,
        height=height,
        f=f,
        fps=fps,
        mover=spec.mover,
        k1=spec.k1,
        k2=spec.k2,
        travel=spec.travel,
    )
    return PlateTruth(cameras, Lens(f, f, width / 2, height / 2, spec.k1, spec.k2))
