"""DCC and tool formats for a solved camera: nerfstudio, Nuke .chan, CSV, PLY."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from ingest_service.camera.geometry import gl_from_cv, matrix_to_quat, nuke_zxy_degrees
from ingest_service.camera.solution import DISTORTION_TERMS, CameraSolution


def transforms_json(solution: CameraSolution, frames_dir: str = "../frames") -> bytes:
    """nerfstudio's transforms.json: OpenGL camera-to-world per frame; paths relative to
    the file (it lives in camera/, the frames in frames/). A distorted lens is written as
    nerfstudio's OPENCV model with all four terms, so trainers undistort the frames."""
    k = solution.intrinsics
    doc: dict[str, Any] = {
        "camera_model": "OPENCV" if k.lens.distorted else "PINHOLE",
        "fl_x": k.fx,
        "fl_y": k.fy,
        "cx": k.cx,
        "cy": k.cy,
        "w": solution.width,
        "h": solution.height,
    }
    if k.lens.distorted:
        doc.update(k1=k.k1, k2=k.k2, p1=k.p1, p2=k.p2)
    doc["frames"] = [
        {
            "file_path": f"{frames_dir}/{f.image}",
            "transform_matrix": gl_from_cv(f.c2w).tolist(),
            "interpolated": f.status == "interpolated",
        }
        for f in solution.frames
    ]
    return json.dumps(doc, indent=2).encode()


def nuke_chan(solution: CameraSolution) -> bytes:
    """Nuke .chan: frame, translate xyz, rotate xyz (degrees, ZXY order), vertical FOV.

    Angles are unwrapped frame to frame so that Nuke never interpolates the long way
    round between 179° and -179°.
    """
    rows = []
    for f in solution.frames:
        gl = gl_from_cv(f.c2w)
        rows.append([*gl[:3, 3], *nuke_zxy_degrees(gl[:3, :3])])
    table = np.array(rows)
    table[:, 3:6] = np.degrees(np.unwrap(np.radians(table[:, 3:6]), axis=0))
    vfov = solution.vertical_fov_degrees
    lines = [
        f"{f.frame} " + " ".join(f"{v:.9g}" for v in row) + f" {vfov:.9g}"
        for f, row in zip(solution.frames, table, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def camera_csv(solution: CameraSolution) -> bytes:
    """One row per frame: status, camera centre, camera-to-world quaternion (OpenCV axes),
    and the lens (the same on every row: a script reading one row has it all)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "frame",
            "image",
            "status",
            "tx",
            "ty",
            "tz",
            "qw",
            "qx",
            "qy",
            "qz",
            "fx",
            "fy",
            "cx",
            "cy",
            *DISTORTION_TERMS,
        ]
    )
    k = solution.intrinsics
    for f in solution.frames:
        c2w = f.c2w
        writer.writerow(
            [
                f.frame,
                f.image,
                f.status,
                *(f"{v:.9g}" for v in c2w[:3, 3]),
                *(f"{v:.9g}" for v in matrix_to_quat(c2w[:3, :3])),
                k.fx,
                k.fy,
                k.cx,
                k.cy,
                *(getattr(k, term) for term in DISTORTION_TERMS),
            ]
        )
    return out.getvalue().encode()


def points_ply(xyz: np.ndarray, rgb: np.ndarray) -> bytes:
    """Binary little-endian PLY of the sparse points with their colours."""
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(xyz)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    ).encode()
    record = np.dtype(
        [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"), ("b", "u1")]
    )
    data = np.empty(len(xyz), dtype=record)
    data["x"], data["y"], data["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    data["r"], data["g"], data["b"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    return header + data.tobytes()


def read_points_ply(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    head, _, body = data.partition(b"end_header\n")
    count = int(
        next(line for line in head.split(b"\n") if line.startswith(b"element vertex")).split()[2]
    )
    record = np.dtype(
        [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"), ("b", "u1")]
    )
    rows = np.frombuffer(body, dtype=record, count=count)
    return (
        np.stack([rows["x"], rows["y"], rows["z"]], axis=1).astype(np.float64),
        np.stack([rows["r"], rows["g"], rows["b"]], axis=1),
    )


def read_chan(data: bytes) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in data.decode().splitlines() if line]
