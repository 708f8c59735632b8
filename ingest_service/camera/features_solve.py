"""The features front end: SIFT on every frame, matched and mapped by pycolmap.

The fallback when point tracking fails (a plate full of cuts, or too little texture to
follow). Tuned for video all the same:

frames come in order with small motion between them and one
camera shot them all. So: one shared camera, sequential matching with quadratic overlap
(frame i against i±1, 2, 4, 8, … which also links a camera that comes back), a solve at
reduced resolution, and a check of the pairs' geometry before mapping, so that locked-off
shots and nodal pans get the camera they are instead of the mapper's guesswork.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycolmap

from ingest_service.camera.outcome import (
    SolveInput,
    SolveOutcome,
    SolveSettings,
    cameras_by_frame,
    locked_off,
    timed,
)
from ingest_service.camera.review import measure_reconstruction
from ingest_service.camera.rotation_only import (
    PairHomography,
    estimate_focal,
    rotation_residual,
    solve_rotations,
)
from ingest_service.camera.solution import SolveKind
from ingest_service.camera.two_view import SEED
from ingest_service.errors import CameraSolveError

log = logging.getLogger(__name__)
_TWO_VIEW = pycolmap.TwoViewGeometryConfiguration
PANORAMIC = {int(_TWO_VIEW.PANORAMIC), int(_TWO_VIEW.PLANAR_OR_PANORAMIC)}
STATIC_PX = 0.5  # corners moving less than this between frames: a locked-off camera
ROTATION_RESIDUAL = 0.02  # how far K⁻¹HK may be from a rotation for a nodal solve


def solve_features(given: SolveInput, settings: SolveSettings) -> SolveOutcome:
    """Cameras for every frame; called by `camera.solve`, which checks the frame count and
    sets COLMAP's logging."""
    image_dir, names, scratch = given.image_dir, given.names, given.scratch
    width, height, focal_hint_px = given.width, given.height, given.focal_hint_px
    timings: dict[str, float] = {}
    database = scratch / "colmap.db"
    focal = given.focal_guess_px
    with timed(timings, "features"):
        _extract(database, image_dir, names, focal, width, height, settings)
    with timed(timings, "matching"):
        _match(database, settings, max(width, height))
    with timed(timings, "analysis"):
        pairs = _pairs(database, names)
    if not pairs:
        raise CameraSolveError(
            "no features could be matched between frames (a blank, untextured, very dark "
            "or very blurred plate)"
        )
    if _is_static(pairs, width, height):
        return locked_off(given, timings, "features")
    nodal = _rotation_only(pairs, len(names), width, height, focal_hint_px, timings)
    if nodal is not None:
        return nodal
    with timed(timings, "mapping"):
        models = _map(database, image_dir, names, scratch, settings)
    outcome = _outcome(models, names, focal_hint_px, timings)
    with timed(timings, "review"):
        outcome.measured = measure_reconstruction(
            _best(models), fixed_focal=False, threads=settings.threads
        )
    return outcome


def _best(models: dict[int, pycolmap.Reconstruction]) -> pycolmap.Reconstruction:
    return max(models.values(), key=lambda m: m.num_reg_images())


def _extract(
    database: Path,
    image_dir: Path,
    names: list[str],
    focal: float,
    width: int,
    height: int,
    settings: SolveSettings,
) -> None:
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = "SIMPLE_RADIAL"
    # An initial focal guess near the truth keeps the initial-pair search from stalling.
    reader.camera_params = f"{focal},{width / 2},{height / 2},0"
    extraction = pycolmap.FeatureExtractionOptions()
    # More than one extraction thread writes images to the database in whichever order
    # they finish, which changes image ids and so the matches: one thread, same answer.
    extraction.num_threads = 1
    extraction.sift.max_num_features = settings.max_features
    pycolmap.extract_features(
        database,
        image_dir,
        image_names=names,
        camera_mode=pycolmap.CameraMode.SINGLE,
        reader_options=reader,
        extraction_options=extraction,
        device=pycolmap.Device.cpu,
    )


def _match(database: Path, settings: SolveSettings, long_side: int) -> None:
    pairing = pycolmap.SequentialPairingOptions()
    # With quadratic overlap COLMAP pairs each frame with the ones 1, 2, 4, … 2^(overlap-1)
    # after it: cheap, and wide enough to link a camera that comes back.
    pairing.overlap = settings.overlap
    pairing.quadratic_overlap = True
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = settings.threads
    # COLMAP's 4 px epipolar tolerance suits large photos. At video resolution it lets a
    # person walking a few pixels a frame pass as static scene, and those tracks pull the
    # solve to a wrong focal length (seen in 4 runs of 10 on a plate with a moving box).
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.max_error = max(1.0, 2.0 * long_side / 1024)
    verification.ransac.random_seed = SEED
    pycolmap.match_sequential(
        database,
        matching_options=matching,
        pairing_options=pairing,
        verification_options=verification,
        device=pycolmap.Device.cpu,
    )


@dataclass(frozen=True)
class _Pair:
    first: int
    second: int
    config: int
    h: np.ndarray
    inliers: int


def _pairs(database: Path, names: list[str]) -> list[_Pair]:
    index = {name: i for i, name in enumerate(names)}
    db = pycolmap.Database.open(database)
    try:
        images = {image.image_id: index[image.name] for image in db.read_all_images()}
        ids, geometries = db.read_two_view_geometries()
    finally:
        db.close()
    pairs = []
    for pair_id, geometry in zip(ids, geometries, strict=True):
        a, b = (images[i] for i in pycolmap.pair_id_to_image_pair(pair_id))
        inliers = len(geometry.inlier_matches)
        if inliers < 15:
            continue
        h = np.asarray(geometry.H, dtype=float)
        if a > b:
            a, b, h = b, a, np.linalg.inv(h) if abs(np.linalg.det(h)) > 1e-12 else h
        pairs.append(_Pair(a, b, int(geometry.config), h, inliers))
    return pairs


def _corner_motion(h: np.ndarray, width: int, height: int) -> float:
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1.0]]).T
    moved = h @ corners
    if np.any(np.abs(moved[2]) < 1e-9):
        return float("inf")
    return float(np.max(np.linalg.norm(moved[:2] / moved[2] - corners[:2], axis=0)))


def _is_static(pairs: list[_Pair], width: int, height: int) -> bool:
    usable = [p for p in pairs if np.any(p.h)]
    moving = [p for p in usable if _corner_motion(p.h, width, height) > STATIC_PX]
    return bool(usable) and len(moving) <= 0.05 * len(usable)


def _rotation_only(
    pairs: list[_Pair],
    frames: int,
    width: int,
    height: int,
    focal_hint: float | None,
    timings: dict[str, float],
) -> SolveOutcome | None:
    """A rotation-only camera if the widest pairs all look panoramic and their homographies
    are rotations for one focal length; None to go on with the full solve."""
    gaps = np.array([p.second - p.first for p in pairs])
    wide = [p for p, g in zip(pairs, gaps, strict=True) if g >= np.percentile(gaps, 75)]
    if np.mean([p.config in PANORAMIC for p in wide]) < 0.8:
        return None
    with timed(timings, "rotation_only"):
        homographies = [PairHomography(p.first, p.second, p.h) for p in pairs if np.any(p.h)]
        if focal_hint:
            focal, residual = (
                focal_hint,
                rotation_residual(homographies, focal_hint, width / 2, height / 2),
            )
        else:
            focal, residual = estimate_focal(homographies, width, height)
        if residual > ROTATION_RESIDUAL:
            log.info(
                "panoramic-looking pairs but not rotations (residual %.3f): full solve", residual
            )
            return None
        rotations = solve_rotations(homographies, frames, focal, width / 2, height / 2)
    cameras = {}
    for i, r in rotations.items():
        c2w = np.eye(4)
        c2w[:3, :3] = r
        cameras[i] = c2w
    return SolveOutcome(
        kind=SolveKind.ROTATION_ONLY,
        model="PINHOLE",
        params=[focal, focal, width / 2, height / 2],
        focal_source="hint" if focal_hint else "solved",
        cameras=cameras,
        xyz=np.zeros((0, 3)),
        rgb=np.zeros((0, 3), np.uint8),
        reprojection_error_px=None,
        timings=timings,
    )


def _map(
    database: Path, image_dir: Path, names: list[str], scratch: Path, settings: SolveSettings
) -> dict[int, pycolmap.Reconstruction]:
    """Map keyframes, then register every other frame against them.

    Long plates are mapped on at most `max_keyframes` evenly spaced frames (mapping cost
    grows faster than the frame count; neighbouring video frames add little); the frames
    in between are then registered to that model with its cameras held fixed.
    """
    output = scratch / "sparse"
    output.mkdir(exist_ok=True)
    # Quadratic sequential matching pairs frames 1, 2, 4, 8, … apart, so keyframes a power
    # of two apart keep every match between them.
    needed = -(-len(names) // settings.max_keyframes)
    stride = 1 << (needed - 1).bit_length()
    keyframes = names[::stride] if stride > 1 else names
    if settings.mapper == "global":
        options = pycolmap.GlobalPipelineOptions()
        options.num_threads = settings.threads
        options.random_seed = SEED
        # The CPU solvers, without first asking for a GPU this build does not have.
        options.mapper.global_positioning.use_gpu = False
        options.mapper.bundle_adjustment.ceres.use_gpu = False
        options.image_names = keyframes
        models = pycolmap.global_mapping(database, image_dir, output, options)
    else:
        models = pycolmap.incremental_mapping(
            database, image_dir, output, _incremental(settings, keyframes)
        )
    if stride == 1 or not models:
        return models
    best = max(models, key=lambda k: models[k].num_reg_images())
    seeded = scratch / "keyframes"
    seeded.mkdir(exist_ok=True)
    models[best].write(seeded)
    registration = _incremental(settings, names)
    registration.fix_existing_frames = True
    completed = scratch / "completed"
    completed.mkdir(exist_ok=True)
    return pycolmap.incremental_mapping(
        database, image_dir, completed, registration, input_path=seeded
    )


def _incremental(settings: SolveSettings, names: list[str]) -> pycolmap.IncrementalPipelineOptions:
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = settings.threads
    options.random_seed = SEED
    options.image_names = names
    # Fewer, later global adjustments: consecutive video frames add little each.
    options.ba_global_frames_ratio = 3.0
    options.ba_global_points_ratio = 3.0
    options.ba_global_max_num_iterations = 25
    options.ba_local_max_num_iterations = 15
    options.ba_refine_principal_point = False
    return options


def _outcome(
    models: dict[int, pycolmap.Reconstruction],
    names: list[str],
    focal_hint: float | None,
    timings: dict[str, float],
) -> SolveOutcome:
    if not models:
        raise CameraSolveError(
            "the mapper could not start a model: too little parallax or texture between frames"
        )
    sizes = sorted((m.num_reg_images() for m in models.values()), reverse=True)
    best = _best(models)
    cameras = cameras_by_frame(best, names)
    camera = next(iter(best.cameras.values()))
    points = list(best.points3D.values())
    xyz = np.array([p.xyz for p in points]).reshape(-1, 3)
    rgb = np.array([p.color for p in points], dtype=np.uint8).reshape(-1, 3)
    return SolveOutcome(
        kind=SolveKind.FULL,
        model=camera.model.name,
        params=[float(v) for v in camera.params],
        focal_source="solved",
        cameras=cameras,
        xyz=xyz,
        rgb=rgb,
        reprojection_error_px=float(best.compute_mean_reprojection_error()),
        split=sizes if len(sizes) > 1 else [],
        timings=timings,
    )
