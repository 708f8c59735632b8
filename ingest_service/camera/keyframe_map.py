"""Structure and keyframe cameras with COLMAP's incremental mapper, fed our tracks.

The tracks are written into a COLMAP database as if they were features: each keyframe's
keypoints are the tracks it sees, each pair of keyframes is matched by the tracks they
share, and the pair's inliers (from our own seeded RANSAC) are its two-view geometry, so
COLMAP neither extracts nor matches anything. Keyframes too far apart to share tracks are
linked by descriptors (`keyframe_links`), appended after the tracks among their keypoints.
The mapper then does what it is good at: choosing an initial pair, registering,
triangulating and bundle adjusting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pycolmap

from ingest_service.camera.keyframe_links import describe, far_pairs, link
from ingest_service.camera.lens import Lens
from ingest_service.camera.tracking import Tracks
from ingest_service.camera.two_view import SEED, compare

MIN_SHARED = 24  # tracks two keyframes must share to be matched
WINDOW = 6  # keyframes: each is matched with up to this many after it


@dataclass
class KeyframeModel:
    reconstruction: pycolmap.Reconstruction
    keyframes: list[int]  # frame index of image id i + 1
    # point3D id for each track the model triangulated
    points_by_track: dict[int, int]
    # per keyframe, the descriptor keypoints that follow its tracks among its keypoints
    linked: dict[int, np.ndarray] = field(default_factory=dict)


def map_keyframes(
    tracks: Tracks,
    keyframes: list[int],
    names: list[str],
    image_dir: Path,
    scratch: Path,
    *,
    lens: Lens,
    fix_focal: bool,
    max_error: float,
    threads: int,
    min_angle: float = 1.0,
) -> KeyframeModel | None:
    """The largest model the mapper makes of the keyframes, or None if it made none."""
    database = scratch / "keyframes.db"
    database.unlink(missing_ok=True)
    with pycolmap.Database.open(database) as db:
        camera = pycolmap.Camera.create_from_model_name(
            1, "SIMPLE_RADIAL", lens.fx, tracks.width, tracks.height
        )
        camera.params = [lens.fx, lens.cx, lens.cy, 0.0]
        camera.has_prior_focal_length = fix_focal
        camera_id = db.write_camera(camera)
        features = describe(image_dir, names, keyframes)
        connected = {
            (i, j)
            for i, a in enumerate(keyframes)
            for j, b in enumerate(keyframes)
            if i < j and len(tracks.common(a, b)[0]) >= MIN_SHARED
        }
        links = link(features, far_pairs(len(keyframes), WINDOW, connected), max_error)
        image_ids = []
        for frame, described in zip(keyframes, features, strict=True):
            image_id = db.write_image(pycolmap.Image(name=names[frame], camera_id=camera_id))
            keypoints = np.concatenate([tracks.frames[frame].xy, described.xy])
            db.write_keypoints(image_id, keypoints.astype(np.float32))
            image_ids.append(image_id)
        _write_pairs(db, tracks, keyframes, image_ids, max_error)
        for found in links:
            a, b = keyframes[found.first], keyframes[found.second]
            offset = np.array([len(tracks.frames[a].ids), len(tracks.frames[b].ids)])
            matches = (found.matches + offset).astype(np.uint32)
            _write_geometry(db, image_ids[found.first], image_ids[found.second], matches)
    output = scratch / "keyframe_model"
    output.mkdir(exist_ok=True)
    models = pycolmap.incremental_mapping(
        database, image_dir, output, _options(keyframes, names, fix_focal, threads, min_angle)
    )
    if not models:
        return None
    best = max(models.values(), key=lambda m: (m.num_reg_images(), m.num_points3D()))
    frame_of = dict(zip(image_ids, keyframes, strict=True))
    points_by_track: dict[int, int] = {}
    for point_id, point in best.points3D.items():
        for element in point.track.elements:
            seen = tracks.frames[frame_of[element.image_id]].ids
            if element.point2D_idx < len(seen):
                points_by_track[int(seen[element.point2D_idx])] = point_id
    linked = {k: f.xy for k, f in zip(keyframes, features, strict=True) if len(f.xy)}
    return KeyframeModel(best, [frame_of[i] for i in sorted(frame_of)], points_by_track, linked)


def _write_pairs(
    db: pycolmap.Database,
    tracks: Tracks,
    keyframes: list[int],
    image_ids: list[int],
    max_error: float,
) -> None:
    for i, a in enumerate(keyframes):
        for j in range(i + 1, min(i + 1 + WINDOW, len(keyframes))):
            b = keyframes[j]
            ids, p1, p2 = tracks.common(a, b)
            if len(ids) < MIN_SHARED:
                continue
            evidence = compare(a, b, ids, p1, p2, max_error)
            if evidence is None or evidence.inliers.sum() < MIN_SHARED:
                continue
            # Positions of the shared tracks among each keyframe's keypoints.
            in_a = np.searchsorted(tracks.frames[a].ids, ids)
            in_b = np.searchsorted(tracks.frames[b].ids, ids)
            matches = np.c_[in_a, in_b].astype(np.uint32)
            _write_geometry(db, image_ids[i], image_ids[j], matches[evidence.inliers])


def _write_geometry(db: pycolmap.Database, first: int, second: int, inliers: np.ndarray) -> None:
    """Verified matches: the mapper reads only two-view geometries, never raw matches."""
    db.write_matches(first, second, inliers)
    geometry = pycolmap.TwoViewGeometry()
    geometry.config = pycolmap.TwoViewGeometryConfiguration.UNCALIBRATED
    geometry.inlier_matches = inliers
    db.write_two_view_geometry(first, second, geometry)


def _options(
    keyframes: list[int], names: list[str], fix_focal: bool, threads: int, min_angle: float
) -> pycolmap.IncrementalPipelineOptions:
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = threads
    options.random_seed = SEED
    options.image_names = [names[k] for k in keyframes]
    options.ba_refine_principal_point = False
    options.ba_refine_focal_length = not fix_focal
    options.mapper.abs_pose_refine_focal_length = not fix_focal
    # Keyframes of a video are close together: COLMAP's 16° initial-pair angle is meant
    # for photo collections and finds no pair on most plates, and its 1.5° floor for a
    # point drops most of what a forward walk sees near the centre of frame (a 120-frame
    # walk: 535 points and 0.11° of rotation error at 1.5°, 984 points and 0.03° at 0.5°).
    # A pan that travels a little has less parallax still: with its focal length known,
    # points seen at a fraction of a degree still pin the cameras.
    options.mapper.init_min_tri_angle = min_angle
    options.mapper.filter_min_tri_angle = min_angle / 2
    options.triangulation.min_angle = min_angle / 2
    options.mapper.ba_local_min_tri_angle = min_angle
    options.min_model_size = 3
    return options
