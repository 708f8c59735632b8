"""The tracks front end: a camera solve that treats the plate as video.

Track points from frame to frame, choose keyframes by how far the view has changed, decide
on the evidence what kind of move it is, solve the keyframes with COLMAP's mapper, then
register every other frame and adjust them all with the lens. Locked-off shots and nodal
pans never reach the mapper; pans that travel a little take their focal length from the
rotation, which pins it far better than their little parallax does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ingest_service.camera.keyframe_map import map_keyframes
from ingest_service.camera.keyframes import KeyframeSettings, select_keyframes
from ingest_service.camera.lens import Lens
from ingest_service.camera.motion_kind import MotionEvidence, classify
from ingest_service.camera.outcome import (
    SolveInput,
    SolveOutcome,
    SolveSettings,
    locked_off,
    timed,
)
from ingest_service.camera.refine import Adjusted, register_and_adjust
from ingest_service.camera.review import Measured, focal_range_rotation, measure_reconstruction
from ingest_service.camera.rotation_only import PairHomography, rotation_between, solve_rotations
from ingest_service.camera.solution import SolveKind
from ingest_service.camera.tracking import TrackingSettings, Tracks, track
from ingest_service.camera.two_view import transfer_error
from ingest_service.errors import CameraSolveError

log = logging.getLogger(__name__)
MIN_TRACKS = 40  # per frame, below which the plate cannot be tracked


class TrackingFailedError(CameraSolveError):
    """The plate could not be solved from point tracks (cuts, too little to follow)."""


def solve_tracks(given: SolveInput, settings: SolveSettings) -> SolveOutcome:
    image_dir, names, scratch = given.image_dir, given.names, given.scratch
    width, height = given.width, given.height
    timings: dict[str, float] = {}
    with timed(timings, "tracking"):
        tracks = track(_grey(image_dir, names), TrackingSettings(points=settings.track_points))
    _check_trackable(tracks)
    with timed(timings, "keyframes"):
        keyframes = select_keyframes(tracks, KeyframeSettings())
    max_error = max(1.0, 1.5 * max(width, height) / 1024)
    with timed(timings, "analysis"):
        evidence = classify(tracks, keyframes, max_error)
    log.info("camera move: %s over %d keyframes", evidence.kind.value, len(keyframes))
    if evidence.kind is SolveKind.STATIC:
        outcome = locked_off(given, timings, "tracks")
        _track_statistics(outcome.measured, tracks, evidence)
        outcome.moving = tracks.rejected_xy()
        return outcome
    if evidence.kind is SolveKind.ROTATION_ONLY:
        return _rotation_only(tracks, keyframes, evidence, timings)
    # A pan that travels a little holds the rotation's focal length; a full move solves
    # its own, starting from the sidecar's hint when there is one.
    fixed = evidence.kind is SolveKind.SMALL_TRANSLATION
    focal = evidence.focal_px if fixed and evidence.focal_px else None
    focal = focal or given.focal_guess_px
    lens = Lens(focal, focal, width / 2, height / 2)
    with timed(timings, "mapping"):
        small = evidence.kind is SolveKind.SMALL_TRANSLATION
        model = map_keyframes(
            tracks,
            keyframes,
            names,
            image_dir,
            scratch,
            lens=lens,
            fix_focal=fixed,
            max_error=max_error,
            threads=settings.threads,
            min_angle=0.25 if small else 1.0,
        )
    if model is None or model.reconstruction.num_reg_images() < 3:
        if evidence.kind is SolveKind.SMALL_TRANSLATION:
            # Too little parallax to triangulate: the rotation is what there is to solve.
            evidence.kind = SolveKind.ROTATION_ONLY
            return _rotation_only(tracks, keyframes, evidence, timings)
        raise TrackingFailedError("the mapper could not start a model from the tracks")
    with timed(timings, "adjustment"):
        adjusted = register_and_adjust(
            model,
            tracks,
            names,
            fix_focal=fixed,
            distortion=settings.distortion,
            threads=settings.threads,
        )
    with timed(timings, "review"):
        measured = measure_reconstruction(
            adjusted.reconstruction,
            fixed_focal=fixed,
            threads=settings.threads,
            observations=adjusted.observations,
        )
        if fixed:
            measured.focal_range_px = focal_range_rotation(tracks, evidence.pairs, focal)
        _track_statistics(measured, tracks, evidence)
    outcome = _full(adjusted, evidence, timings)
    outcome.measured = measured
    outcome.moving = tracks.rejected_xy()
    frame_of = {image_id: frame for frame, image_id in adjusted.frames.items()}
    dropped = adjusted.outliers
    for image_id in np.unique(dropped.image_ids):
        outcome.outliers[frame_of[int(image_id)]] = dropped.xy[dropped.image_ids == image_id]
    return outcome


def _track_statistics(measured: Measured, tracks: Tracks, evidence: MotionEvidence) -> None:
    measured.tracks_per_frame = float(np.median([len(f.ids) for f in tracks.frames]))
    measured.track_length_frames = float(np.median(tracks.lengths()))
    measured.unexplained_motion_share = evidence.unexplained_share


def _grey(image_dir: Path, names: list[str]) -> Iterator[np.ndarray]:
    for name in names:
        image = cv2.imread(str(image_dir / name), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise CameraSolveError(f"could not read frame {name}")
        yield image


def _check_trackable(tracks: Tracks) -> None:
    if tracks.cuts:
        raise TrackingFailedError(
            f"tracks were lost at frame {tracks.cuts[0] + 1} (a cut or a flash)"
        )
    thin = [i for i, f in enumerate(tracks.frames) if len(f.ids) < MIN_TRACKS]
    if thin:
        raise TrackingFailedError(
            f"too few points to track in frame {thin[0] + 1} ({len(tracks.frames[thin[0]].ids)})"
        )


def _rotation_only(
    tracks: Tracks, keyframes: list[int], evidence: MotionEvidence, timings: dict[str, float]
) -> SolveOutcome:
    """One camera centre; rotations averaged over keyframe pairs, the frames in between
    from the homography to their keyframe."""
    width, height = tracks.width, tracks.height
    assert evidence.focal_px is not None
    f, cx, cy = evidence.focal_px, width / 2, height / 2
    with timed(timings, "rotation"):
        index = {frame: i for i, frame in enumerate(keyframes)}
        pairs = [PairHomography(index[p.first], index[p.second], p.h) for p in evidence.pairs]
        key_rotations = solve_rotations(pairs, len(keyframes), f, cx, cy)
        k = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
        cameras: dict[int, np.ndarray] = {}
        errors: list[np.ndarray] = []
        for frame in range(len(tracks.frames)):
            at = max(i for i, key in enumerate(keyframes) if key <= frame)
            if at not in key_rotations:
                continue
            key = keyframes[at]
            _ids, p1, p2 = tracks.common(key, frame)
            rotation = key_rotations[at]
            if frame != key:
                step = rotation_between(p1, p2, k)
                if step is None:
                    continue
                rotation = rotation @ step.T
            c2w = np.eye(4)
            c2w[:3, :3] = rotation
            cameras[frame] = c2w
            h = k @ rotation.T @ key_rotations[at] @ np.linalg.inv(k)
            errors.append(transfer_error(h, p1, p2))
    if len(cameras) < 2:
        raise TrackingFailedError("the rotation could not be followed through the plate")
    residual = np.concatenate(errors) if errors else np.zeros(0)
    return SolveOutcome(
        kind=SolveKind.ROTATION_ONLY,
        model="SIMPLE_PINHOLE",
        params=[f, cx, cy],
        focal_source="rotation",
        cameras=cameras,
        xyz=np.zeros((0, 3)),
        rgb=np.zeros((0, 3), np.uint8),
        reprojection_error_px=float(np.mean(residual)) if len(residual) else None,
        timings=timings,
        frontend="tracks",
        moving=tracks.rejected_xy(),
    )


def _full(adjusted: Adjusted, evidence: MotionEvidence, timings: dict[str, float]) -> SolveOutcome:
    rec = adjusted.reconstruction
    cameras = {}
    for frame, image_id in adjusted.frames.items():
        w2c = np.eye(4)
        w2c[:3, :] = rec.images[image_id].cam_from_world().matrix()
        cameras[frame] = np.linalg.inv(w2c)
    points = [rec.points3D[i] for i in sorted(rec.points3D)]
    model, params = adjusted.lens.colmap()
    source = "rotation" if evidence.kind is SolveKind.SMALL_TRANSLATION else "solved"
    return SolveOutcome(
        kind=evidence.kind,
        model=model,
        params=params,
        focal_source=source,
        cameras=cameras,
        xyz=np.array([p.xyz for p in points]).reshape(-1, 3),
        rgb=np.array([p.color for p in points], dtype=np.uint8).reshape(-1, 3),
        reprojection_error_px=float(rec.compute_mean_reprojection_error()),
        timings=timings,
        frontend="tracks",
    )
