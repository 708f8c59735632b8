"""Rotations and camera conventions.

OpenCV / COLMAP cameras look down +Z with +Y down; OpenGL cameras (Nuke, USD, Blender,
nerfstudio) look down -Z with +Y up. The world is shared; only the camera's own axes
differ, so converting a camera-to-world matrix is one right-multiplication.
"""

from __future__ import annotations

import numpy as np

CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def gl_from_cv(world_from_camera_cv: np.ndarray) -> np.ndarray:
    """Camera-to-world in OpenGL camera convention from the OpenCV one."""
    return world_from_camera_cv @ CV_TO_GL


def invert(transform: np.ndarray) -> np.ndarray:
    r, t = transform[:3, :3], transform[:3, 3]
    out = np.eye(4)
    out[:3, :3] = r.T
    out[:3, 3] = -r.T @ t
    return out


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) to a 3x3 rotation."""
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """3x3 rotation to a unit quaternion (w, x, y, z) with w >= 0."""
    m = r
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    quat = np.array(q)
    quat /= np.linalg.norm(quat)
    return quat if quat[0] >= 0 else -quat


def slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    dot = float(np.dot(q0, q1))
    if dot < 0:  # take the short way round
        q1, dot = -q1, -dot
    if dot > 0.9995:
        q: np.ndarray = q0 + t * (q1 - q0)
        return q / float(np.linalg.norm(q))
    theta = float(np.arccos(dot))
    blended: np.ndarray = (np.sin((1 - t) * theta) * q0 + np.sin(t * theta) * q1) / np.sin(theta)
    return blended


def nuke_zxy_degrees(r: np.ndarray) -> tuple[float, float, float]:
    """(rx, ry, rz) in degrees for Nuke's default ZXY order: R = Ry @ Rx @ Rz.

    Nuke applies Z first, then X, then Y, for column vectors.
    """
    rx = np.arctan2(-r[1, 2], np.hypot(r[1, 0], r[1, 1]))
    ry = np.arctan2(r[0, 2], r[2, 2])
    rz = np.arctan2(r[1, 0], r[1, 1])
    return float(np.degrees(rx)), float(np.degrees(ry)), float(np.degrees(rz))


def matrix_from_nuke_zxy(rx: float, ry: float, rz: float) -> np.ndarray:
    x, y, z = np.radians([rx, ry, rz])
    rot_x = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    rot_y = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rot_z = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    rotation: np.ndarray = rot_y @ rot_x @ rot_z
    return rotation


def up_aligned(world_from_cameras: list[np.ndarray]) -> np.ndarray:
    """A world rotation+translation that puts the average camera up on +Y, the average
    view direction toward -Z, and the first camera at the origin, so that a solve opens
    upright in any DCC. Input and output are OpenCV camera-to-world matrices."""
    rotations = np.stack([m[:3, :3] for m in world_from_cameras])
    up = -rotations[:, :, 1].mean(axis=0)  # OpenCV camera +Y points down
    forward = rotations[:, :, 2].mean(axis=0)
    up /= np.linalg.norm(up)
    forward -= up * np.dot(forward, up)
    if np.linalg.norm(forward) < 1e-9:  # looking straight up or down on average
        forward = np.cross(up, [1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.cross(up, [0, 0, 1.0])
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    # Rows are where the old axes go: right → +X, up → +Y, forward → -Z.
    w = np.stack([right, up, -forward])
    align = np.eye(4)
    align[:3, :3] = w
    align[:3, 3] = -w @ world_from_cameras[0][:3, 3]
    return align
