"""Nodal pans and tilts: no parallax, so solve rotations and focal length from homographies.

For a camera that only rotates, the homography between two frames is H = K R K⁻¹. The
focal length is the one that makes K⁻¹ H K closest to a rotation; a translating camera
over a flat scene also gives homographies, but no focal length makes those rotations,
which is how the two are told apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairHomography:
    first: int  # frame indices, first < second
    second: int
    h: np.ndarray  # maps pixels of `first` to pixels of `second`


def _k(f: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])


def _nearest_rotation(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    r: np.ndarray = u @ np.diag([1, 1, np.sign(np.linalg.det(u @ vt))]) @ vt
    return r


def _as_rotation(h: np.ndarray, f: float, cx: float, cy: float) -> tuple[np.ndarray, float]:
    k = _k(f, cx, cy)
    m = np.linalg.inv(k) @ h @ k
    m = m / np.cbrt(np.linalg.det(m))
    r = _nearest_rotation(m)
    return r, float(np.linalg.norm(m - r))


def rotation_residual(pairs: list[PairHomography], f: float, cx: float, cy: float) -> float:
    return float(np.median([_as_rotation(p.h, f, cx, cy)[1] for p in pairs]))


def estimate_focal(pairs: list[PairHomography], width: int, height: int) -> tuple[float, float]:
    """(focal in pixels, median distance of K⁻¹HK from a rotation at that focal)."""
    cx, cy = width / 2, height / 2
    size = max(width, height)
    grid = np.geomspace(0.25 * size, 8 * size, 200)
    scores = [rotation_residual(pairs, f, cx, cy) for f in grid]
    best = int(np.argmin(scores))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    for _ in range(40):  # golden-section refinement between the grid neighbours
        a = hi - (hi - lo) / 1.618
        b = lo + (hi - lo) / 1.618
        if rotation_residual(pairs, a, cx, cy) < rotation_residual(pairs, b, cx, cy):
            hi = b
        else:
            lo = a
    f = (lo + hi) / 2
    return float(f), rotation_residual(pairs, f, cx, cy)


def solve_rotations(
    pairs: list[PairHomography], frames: int, f: float, cx: float, cy: float, iterations: int = 30
) -> dict[int, np.ndarray]:
    """Camera-to-world rotations (OpenCV axes, frame 0 = identity) by averaging every pair.

    Starts from the chain of consecutive pairs, then repeatedly replaces each rotation by
    the chordal mean of what its neighbours say it is, frame 0 held fixed.
    """
    relative: dict[tuple[int, int], np.ndarray] = {}
    for p in pairs:
        # x2 ~ K R2ᵀ R1 K⁻¹ x1, so K⁻¹HK = R2ᵀ R1 for camera-to-world R1, R2.
        relative[(p.first, p.second)] = _as_rotation(p.h, f, cx, cy)[0]
    rotations: dict[int, np.ndarray] = {0: np.eye(3)}
    for i in range(1, frames):
        step = relative.get((i - 1, i))
        if step is not None and i - 1 in rotations:
            rotations[i] = rotations[i - 1] @ step.T
    neighbours: dict[int, list[tuple[int, np.ndarray]]] = {}
    for (a, b), m in relative.items():
        neighbours.setdefault(b, []).append((a, m.T))  # R_b = R_a Mᵀ
        neighbours.setdefault(a, []).append((b, m))  # R_a = R_b M
    for _ in range(iterations):
        for j in sorted(rotations):
            if j == 0:
                continue
            votes = [rotations[i] @ m for i, m in neighbours.get(j, []) if i in rotations]
            if votes:
                rotations[j] = _nearest_rotation(np.sum(votes, axis=0))
    return rotations


def rotation_between(p1: np.ndarray, p2: np.ndarray, k: np.ndarray) -> np.ndarray | None:
    """R with x2 ~ K R K⁻¹ x1 (R = R2ᵀ R1 for camera-to-world R1, R2), by least squares on
    the tracks' rays."""
    if len(p1) < 8:
        return None
    k_inv = np.linalg.inv(k)
    a = np.c_[p1, np.ones(len(p1))] @ k_inv.T
    b = np.c_[p2, np.ones(len(p2))] @ k_inv.T
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    u, _, vt = np.linalg.svd(b.T @ a)  # Kabsch: the rotation taking rays a onto rays b
    rotation: np.ndarray = u @ np.diag([1, 1, np.sign(np.linalg.det(u @ vt))]) @ vt
    return rotation
