"""Every frame's camera: register the frames between keyframes, then adjust them all.

The keyframes' structure is the map. Each other frame sees some of its points through the
tracks, so its pose is an absolute-pose (PnP) problem. Then one bundle adjustment over every
frame, every tracked observation and the lens (focal length and radial distortion) refines
them together; observations that still disagree are dropped and it runs once more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pycolmap

from ingest_service.camera.keyframe_map import KeyframeModel
from ingest_service.camera.lens import Lens
from ingest_service.camera.observations import Observations
from ingest_service.camera.tracking import Tracks
from ingest_service.camera.two_view import SEED

MIN_PNP_INLIERS = 12
MIN_VIEWS = 3  # posed frames a track must be seen in to be triangulated after registration
MIN_ANGLE_DEG = 0.5  # and the angle its rays must span (as the keyframe mapper asks)
# Observations further than this from their point's projection after the first adjustment
# are dropped: slipped tracks and the edges of things that move.
OUTLIER_PX = 2.0
# Radial distortion is estimated only when it cuts the keyframes' reprojection error by
# more than this share (measured: undistorted plates gain under 0.1 %; a wide lens with
# k1 = -0.12, k2 = 0.03 gains 23 %).
DISTORTION_GAIN = 0.05


@dataclass
class Adjusted:
    reconstruction: pycolmap.Reconstruction
    lens: Lens
    frames: dict[int, int]  # frame index -> image id in `reconstruction`
    observations: Observations
    outliers: Observations  # what the adjustment dropped


def register_and_adjust(
    model: KeyframeModel,
    tracks: Tracks,
    names: list[str],
    *,
    fix_focal: bool,
    distortion: bool,
    threads: int,
) -> Adjusted:
    keyframe_camera = next(iter(model.reconstruction.cameras.values()))
    f, cx, cy, k1 = (float(v) for v in keyframe_camera.params)
    distortion = distortion and _lens_shows_distortion(model, fix_focal, threads)
    lens = Lens(f, f, cx, cy, k1 if distortion else 0.0)
    poses = _keyframe_poses(model)
    poses.update(_register(model, tracks, poses, keyframe_camera))
    rec, seen = _build(model, tracks, names, poses, lens)
    # The keyframe map and PnP already place every point within a few pixels, so gross
    # outliers can go before adjusting: a plain least-squares adjustment then converges in
    # a fraction of the time a robust loss takes.
    gross = ~(seen.errors(rec) <= 2 * OUTLIER_PX)
    outliers = [seen.where(gross)]
    seen = seen.drop(rec, gross)
    adjust(rec, _adjust_options(fix_focal, distortion, threads))
    bad = ~(seen.errors(rec) <= OUTLIER_PX)
    outliers.append(seen.where(bad))
    seen = seen.drop(rec, bad)
    adjust(rec, _adjust_options(fix_focal, distortion, threads))
    rec.update_point_3d_errors()
    lens = Lens.from_colmap("RADIAL", list(rec.cameras[1].params))
    frames = {frame: frame + 1 for frame in poses}
    return Adjusted(rec, lens, frames, seen, Observations.concatenate(outliers))


def adjust(rec: pycolmap.Reconstruction, options: pycolmap.BundleAdjustmentOptions) -> None:
    """What `pycolmap.bundle_adjustment` does, to the bit (every posed image, in its order;
    the gauge of the first two cameras), without it: that call turns COLMAP's INFO logging
    back on and prints a heading to the console on every run."""
    config = pycolmap.BundleAdjustmentConfig()
    for image_id in rec.reg_image_ids():
        config.add_image(image_id)
    config.fix_gauge(pycolmap.BundleAdjustmentGauge.TWO_CAMS_FROM_WORLD)
    pycolmap.create_default_bundle_adjuster(options, config, rec).solve()


def _lens_shows_distortion(model: KeyframeModel, fix_focal: bool, threads: int) -> bool:
    """Whether radial distortion earns its parameters on the keyframes: it must cut the
    reprojection error clearly, not just by what any extra parameter fits of the noise."""
    errors = {}
    for distortion in (False, True):
        trial = pycolmap.Reconstruction(model.reconstruction)
        camera = trial.cameras[1]
        camera.params = [*list(camera.params)[:3], 0.0]
        adjust(trial, _adjust_options(fix_focal, distortion, threads))
        trial.update_point_3d_errors()
        errors[distortion] = trial.compute_mean_reprojection_error()
    return bool(errors[True] < (1 - DISTORTION_GAIN) * errors[False])


def _keyframe_poses(model: KeyframeModel) -> dict[int, pycolmap.Rigid3d]:
    poses = {}
    for image_id, image in model.reconstruction.images.items():
        if image.has_pose:
            poses[model.keyframes[image_id - 1]] = image.cam_from_world()
    return poses


def _register(
    model: KeyframeModel,
    tracks: Tracks,
    known: dict[int, pycolmap.Rigid3d],
    camera: pycolmap.Camera,
) -> dict[int, pycolmap.Rigid3d]:
    """Poses of the frames between keyframes, in plate order. Each starts from the pose of
    the frame before it (video moves little between frames), so a robust refinement is
    enough; a RANSAC search is the fallback when that start is too far off."""
    points = model.reconstruction.points3D
    refinement = pycolmap.AbsolutePoseRefinementOptions()
    refinement.refine_focal_length = False
    refinement.refine_extra_params = False
    poses: dict[int, pycolmap.Rigid3d] = {}
    previous: pycolmap.Rigid3d | None = None
    for frame, seen in enumerate(tracks.frames):
        if frame in known:
            previous = known[frame]
            continue
        rows = [
            (i, model.points_by_track[int(t)])
            for i, t in enumerate(seen.ids)
            if int(t) in model.points_by_track
        ]
        if len(rows) < MIN_PNP_INLIERS:
            continue
        index, point_ids = zip(*rows, strict=True)
        xy = seen.xy[list(index)]
        xyz = np.array([points[p].xyz for p in point_ids])
        pose = _refined(previous, xy, xyz, camera, refinement) if previous else None
        if pose is None:
            pose = _searched(xy, xyz, camera, refinement)
        if pose is not None:
            poses[frame] = previous = pose
    return poses


def _refined(
    start: pycolmap.Rigid3d,
    xy: np.ndarray,
    xyz: np.ndarray,
    camera: pycolmap.Camera,
    refinement: pycolmap.AbsolutePoseRefinementOptions,
) -> pycolmap.Rigid3d | None:
    everything = np.ones(len(xy), bool)
    result = pycolmap.refine_absolute_pose(start, xy, xyz, everything, camera, refinement)
    if result is None:
        return None
    pose: pycolmap.Rigid3d = result["cam_from_world"]
    in_camera = xyz @ pose.rotation.matrix().T + pose.translation
    error = np.linalg.norm(np.asarray(camera.img_from_cam(in_camera)) - xy, axis=1)
    good = (in_camera[:, 2] > 0) & (error < 2 * OUTLIER_PX)
    return pose if good.sum() >= max(MIN_PNP_INLIERS, 0.5 * len(xy)) else None


def _searched(
    xy: np.ndarray,
    xyz: np.ndarray,
    camera: pycolmap.Camera,
    refinement: pycolmap.AbsolutePoseRefinementOptions,
) -> pycolmap.Rigid3d | None:
    estimation = pycolmap.AbsolutePoseEstimationOptions()
    estimation.ransac.max_error = 2 * OUTLIER_PX
    estimation.ransac.random_seed = SEED
    result = pycolmap.estimate_and_refine_absolute_pose(xy, xyz, camera, estimation, refinement)
    if result is None or result["num_inliers"] < MIN_PNP_INLIERS:
        return None
    pose: pycolmap.Rigid3d = result["cam_from_world"]
    return pose


def _build(
    model: KeyframeModel,
    tracks: Tracks,
    names: list[str],
    poses: dict[int, pycolmap.Rigid3d],
    lens: Lens,
) -> tuple[pycolmap.Reconstruction, Observations]:
    """A reconstruction of every posed frame, observing the keyframe model's points."""
    rec = pycolmap.Reconstruction()
    camera = pycolmap.Camera.create_from_model_name(
        1, "RADIAL", lens.fx, tracks.width, tracks.height
    )
    camera.params = [lens.fx, lens.cx, lens.cy, lens.k1, lens.k2]
    rec.add_camera_with_trivial_rig(camera)
    # A keyframe's keypoints are its tracks, then its descriptor links (as in the map).
    keypoints = {}
    for frame in sorted(poses):
        linked = model.linked.get(frame, np.zeros((0, 2)))
        keypoints[frame] = np.concatenate([tracks.frames[frame].xy, linked])
        image = pycolmap.Image(
            name=names[frame], camera_id=1, image_id=frame + 1, keypoints=keypoints[frame]
        )
        rec.add_image_with_trivial_frame(image, poses[frame])
    # Points: the keyframe model's, plus tracks it never triangulated (short ones, often
    # near the frame's edges where the lens shows most) placed from every posed frame.
    position = {p: (point.xyz, point.color) for p, point in model.reconstruction.points3D.items()}
    point_of_track = dict(model.points_by_track)
    extra = _triangulate_rest(tracks, poses, lens, set(point_of_track))
    for n, (track_id, xyz) in enumerate(sorted(extra.items())):
        key = -1 - n  # never a keyframe model id
        position[key] = (xyz, np.zeros(3, np.uint8))
        point_of_track[track_id] = key
    elements: dict[int, list[tuple[int, int]]] = {}
    for frame in sorted(poses):
        seen_by_point: dict[int, int] = {}
        for index, track_id in enumerate(tracks.frames[frame].ids):
            found = point_of_track.get(int(track_id))
            # A point the mapper merged from several tracks is observed once per frame.
            if found is not None and found not in seen_by_point:
                seen_by_point[found] = index
        for key, index in seen_by_point.items():
            elements.setdefault(key, []).append((frame + 1, index))
    for point_id, point in model.reconstruction.points3D.items():
        for element in point.track.elements:
            frame = model.keyframes[element.image_id - 1]
            if element.point2D_idx >= len(tracks.frames[frame].ids) and frame in poses:
                elements.setdefault(point_id, []).append((frame + 1, element.point2D_idx))
    rows: list[tuple[int, int, int]] = []
    for key in sorted(elements):
        observed = elements[key]
        if len(observed) < 2:
            continue
        track = pycolmap.Track()
        for image_id, index in sorted(set(observed)):
            track.add_element(image_id, index)
        xyz, color = position[key]
        new_id = rec.add_point3D(xyz, track, color)
        rows.extend((image_id, index, new_id) for image_id, index in sorted(set(observed)))
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    xy = np.array([keypoints[i - 1][j] for i, j, _ in rows]).reshape(-1, 2)
    return rec, Observations(table[:, 0], table[:, 1], table[:, 2], xy)


def _triangulate_rest(
    tracks: Tracks, poses: dict[int, pycolmap.Rigid3d], lens: Lens, known: set[int]
) -> dict[int, np.ndarray]:
    """Points for tracks seen in at least MIN_VIEWS posed frames, each the point nearest
    all its rays; kept when its rays meet at MIN_ANGLE_DEG or more, in front of them all."""
    track_ids, centres, rays = [], [], []
    for frame in sorted(poses):
        seen = tracks.frames[frame]
        new = ~np.isin(seen.ids, list(known))
        if not new.any():
            continue
        pose = poses[frame]
        world_from_cam = pose.rotation.matrix().T
        local = lens.undistort_normalised(lens.normalise(seen.xy[new]))
        direction = np.c_[local, np.ones(len(local))] @ world_from_cam.T
        rays.append(direction / np.linalg.norm(direction, axis=1, keepdims=True))
        centres.append(np.broadcast_to(-world_from_cam @ pose.translation, (len(local), 3)))
        track_ids.append(seen.ids[new])
    if not track_ids:
        return {}
    ids, order = np.unique(np.concatenate(track_ids), return_inverse=True)
    c, d = np.concatenate(centres), np.concatenate(rays)
    counts = np.bincount(order, minlength=len(ids))
    projector = np.eye(3) - d[:, :, None] * d[:, None, :]
    a = np.zeros((len(ids), 3, 3))
    b = np.zeros((len(ids), 3))
    np.add.at(a, order, projector)
    np.add.at(b, order, np.einsum("nij,nj->ni", projector, c))
    usable = counts >= MIN_VIEWS
    a[~usable] = np.eye(3)
    xyz = np.linalg.solve(a, b[..., None])[..., 0]
    in_front = np.ones(len(ids), bool)
    np.logical_and.at(in_front, order, np.einsum("ni,ni->n", xyz[order] - c, d) > 0)
    # The widest angle between a track's rays, against its mean direction.
    mean = np.zeros((len(ids), 3))
    np.add.at(mean, order, d)
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    spread = np.zeros(len(ids))
    np.maximum.at(spread, order, 1 - np.einsum("ni,ni->n", d, mean[order]))
    wide = np.degrees(2 * np.arccos(np.clip(1 - spread, -1, 1))) >= MIN_ANGLE_DEG
    keep = usable & in_front & wide
    return {int(t): x for t, x in zip(ids[keep], xyz[keep], strict=True)}


def _adjust_options(
    fix_focal: bool, distortion: bool, threads: int
) -> pycolmap.BundleAdjustmentOptions:
    options = pycolmap.BundleAdjustmentOptions()
    options.refine_focal_length = not fix_focal
    options.refine_principal_point = False
    options.refine_extra_params = distortion
    options.print_summary = False
    options.ceres.solver_options.num_threads = threads
    options.ceres.auto_select_solver_type = False
    solver = options.ceres.solver_options
    solver.linear_solver_type = type(solver.linear_solver_type).SPARSE_SCHUR
    options.ceres.solver_options.max_num_iterations = 30
    # Stop when an iteration improves the cost by less than a millionth: the last digits
    # of a converged solve are not worth the iterations (and differ between thread counts).
    options.ceres.solver_options.function_tolerance = 1e-6
    return options
