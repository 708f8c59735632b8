"""What the sample room is made of: boxes, and things that move on their own (a box that
rises, walks, slides and turns, a ball that bounces), and where a ray meets each of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

# True: a small box rising across the room; "close": a large box walking close past a
# dolly; "ball": a ball bouncing on the floor; "yaw": a box that slides and turns.
MoverKind = bool | Literal["close", "ball", "yaw"]


@dataclass(frozen=True)
class Box:
    lo: np.ndarray
    hi: np.ndarray
    texture: int

    def moved(self, offset: np.ndarray) -> Box:
        return Box(self.lo + offset, self.hi + offset, self.texture)


@dataclass(frozen=True)
class Mover:
    """Something that moves through the room on its own: what the masks stage must find.

    Its shape is `box` at frame 0 (a ball: the largest ball inside that box). It slides
    `velocity` per frame, turns `yaw` radians per frame about its vertical axis, and hops
    `bounce` metres high every `period` frames, along a parabola as a thrown thing does.
    """

    box: Box
    velocity: np.ndarray  # world units per frame
    yaw: float = 0.0
    bounce: float = 0.0
    period: float = 1.0
    ball: bool = False

    def offset(self, frame: int) -> np.ndarray:
        phase = (frame / self.period) % 1.0
        hop = self.bounce * 4 * phase * (1 - phase)
        out: np.ndarray = self.velocity * frame + np.array([0.0, hop, 0.0])
        return out

    def at(self, frame: int) -> Box:
        """Where its (unturned) box is at `frame`."""
        return self.box.moved(self.offset(frame))

    def to_rest(self, frame: int) -> np.ndarray:
        """World-from-world transform (4x4) taking a point on it at `frame` back to where
        that point was at frame 0: its texture and its shape are looked up there."""
        centre = (self.box.lo + self.box.hi) / 2
        c, s = np.cos(-self.yaw * frame), np.sin(-self.yaw * frame)
        turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        out = np.eye(4)
        out[:3, :3] = turn
        out[:3, 3] = centre - turn @ (centre + self.offset(frame))
        return out


def movers(kind: MoverKind, frames: int) -> list[Mover]:
    if kind == "close":
        # 1.5 m wide and 1.8 m tall, 2 to 2.5 m ahead of a dolly's camera (z 1 to 1.5); walking
        # along -x against the dolly (+x), it crosses the frame left to right over `frames`.
        box = Box(np.array([2.0, 0.0, 3.5]), np.array([3.5, 1.8, 4.0]), 7)
        return [Mover(box, np.array([-4.75 / max(frames - 1, 1), 0.0, 0.0]))]
    if kind == "ball":
        # A ball 0.7 m across bouncing 1 m high every 22 frames (0.9 s at 24 fps, as
        # gravity has it), 4 m ahead of a dolly's camera and moving against it: it crosses
        # the frame's right half and leaves it at about frame 47.
        box = Box(np.array([0.25, 0.0, 5.05]), np.array([0.95, 0.7, 5.75]), 7)
        return [Mover(box, np.array([-0.07, 0.0, 0.0]), bounce=1.0, period=22.0, ball=True)]
    if kind == "yaw":
        # A box 0.8 x 1 x 1.4 m sliding sideways (+x, 1.7 m/s at 24 fps) while it turns 3
        # degrees a frame, 4 m from the orbit's camera: it shows the orbit changing sides
        # as it turns, and leaves the frame's left edge at about frame 49.
        box = Box(np.array([-0.1, 0.0, 6.5]), np.array([0.7, 1.0, 7.9]), 7)
        return [Mover(box, np.array([0.07, 0.0, 0.0]), yaw=np.radians(3.0))]
    if kind:
        box = Box(np.array([-1.2, 0.4, 4.0]), np.array([-0.2, 1.4, 5.0]), 7)
        return [Mover(box, np.array([0.03, 0.04, 0.0]))]
    return []


def _box_hits(box: Box, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Ray parameter of the nearest hit on an axis-aligned box (slab test); NaN or inf: none."""
    t1 = (box.lo - origin) / dirs
    t2 = (box.hi - origin) / dirs
    t_near = np.nanmax(np.minimum(t1, t2), axis=-1)
    t_far = np.nanmin(np.maximum(t1, t2), axis=-1)
    out: np.ndarray = np.where(t_near <= t_far, t_near, np.inf)
    return out


def _box_texture(box: Box, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates (world units) from the two axes the hit face spans."""
    extent = box.hi - box.lo
    local = (point - box.lo) / extent
    face_axis = np.argmin(np.minimum(np.abs(local), np.abs(1 - local)) * extent, axis=1)
    axes = np.array([[1, 2], [0, 2], [0, 1]])[face_axis]
    return (
        np.take_along_axis(point, axes[:, :1], 1)[:, 0],
        np.take_along_axis(point, axes[:, 1:], 1)[:, 0],
    )


def _ball_hits(box: Box, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Ray parameter of the nearest hit on the largest ball inside `box`; inf: none."""
    centre, radius = (box.lo + box.hi) / 2, float(np.min(box.hi - box.lo)) / 2
    to_origin = origin - centre
    a = np.einsum("...i,...i", dirs, dirs)
    b = dirs @ to_origin
    disc = b * b - a * (to_origin @ to_origin - radius * radius)
    out: np.ndarray = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
    return out


def _ball_texture(box: Box, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates (world units along the surface) from longitude and latitude."""
    centre, radius = (box.lo + box.hi) / 2, float(np.min(box.hi - box.lo)) / 2
    x, y, z = (point - centre).T
    longitude = np.arctan2(z, x)
    latitude = np.arcsin(np.clip(y / radius, -1, 1))
    return longitude * radius, latitude * radius


def hit_distance(box: Box, origin: np.ndarray, dirs: np.ndarray, *, ball: bool) -> np.ndarray:
    """Ray parameter of each ray's nearest hit on `box` (or the largest ball inside it);
    NaN or inf where it misses."""
    return (_ball_hits if ball else _box_hits)(box, origin, dirs)


def surface_coords(box: Box, point: np.ndarray, *, ball: bool) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates, in world units along the surface, of points on `box` (or its ball)."""
    return (_ball_texture if ball else _box_texture)(box, point)
