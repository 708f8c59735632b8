"""A COLMAP text model (cameras.txt, images.txt, points3D.txt) of the registered frames."""

from __future__ import annotations

import numpy as np

from ingest_service.camera.geometry import matrix_to_quat
from ingest_service.camera.solution import CameraSolution, FrameStatus


def colmap_text(solution: CameraSolution, xyz: np.ndarray, rgb: np.ndarray) -> dict[str, bytes]:
    """Files by name. Interpolated frames are left out: COLMAP models hold solved images.

    The camera is camera.json's model, which holds its lens (`Intrinsics` checks that the
    params agree with k1…p2): RADIAL, OPENCV and the like carry the distortion to COLMAP.
    """
    k = solution.intrinsics
    cameras = (
        "# Camera list with one line of data per camera:\n"
        "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n"
        f"1 {k.model} {solution.width} {solution.height} "
        + " ".join(f"{p:.12g}" for p in k.params)
        + "\n"
    )
    images = [
        "# Image list with two lines of data per image:\n",
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n",
        "#   POINTS2D[] as (X, Y, POINT3D_ID)\n",
    ]
    for image_id, frame in enumerate(solution.frames, start=1):
        if frame.status is not FrameStatus.REGISTERED:
            continue
        w2c = np.array(frame.camera_from_world)
        q = matrix_to_quat(w2c[:3, :3])
        values = " ".join(f"{v:.12g}" for v in (*q, *w2c[:3, 3]))
        images.append(f"{image_id} {values} 1 {frame.image}\n\n")
    points = [
        "# 3D point list with one line of data per point:\n",
        "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n",
    ]
    for point_id, (p, c) in enumerate(zip(xyz, rgb, strict=True), start=1):
        points.append(f"{point_id} {p[0]:.9g} {p[1]:.9g} {p[2]:.9g} {c[0]} {c[1]} {c[2]} 0\n")
    return {
        "cameras.txt": cameras.encode(),
        "images.txt": "".join(images).encode(),
        "points3D.txt": "".join(points).encode(),
    }
