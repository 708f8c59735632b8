"""The kind of move is chosen on the tracks' evidence: locked off, nodal pan, a pan that
travels a little, full parallax; and the focal length of a rotation comes out right."""

from __future__ import annotations

import numpy as np
import pytest

from ingest_service.camera.keyframes import KeyframeSettings, select_keyframes
from ingest_service.camera.motion_kind import classify
from ingest_service.camera.solution import SolveKind
from ingest_service.samples.scene import motion
from tests.ingest_service.camera.synthetic_tracks import project, scene_points

F = 1000.0


def _classify(kind: str, frames: int = 48, **moves: float):  # type: ignore[no-untyped-def]
    tracks = project(scene_points(), motion(kind, frames, **moves), F)
    keyframes = select_keyframes(tracks, KeyframeSettings())
    return classify(tracks, keyframes, 1.4)


def test_a_locked_off_camera_is_static() -> None:
    assert _classify("static").kind is SolveKind.STATIC


def test_a_nodal_pan_is_rotation_only_with_the_right_focal_length() -> None:
    evidence = _classify("pan")
    assert evidence.kind is SolveKind.ROTATION_ONLY
    assert evidence.focal_px == pytest.approx(F, rel=0.01)


def test_a_pan_that_travels_half_a_metre_takes_its_focal_length_from_the_rotation() -> None:
    evidence = _classify("pan_travel", frames=72, travel=0.5)
    assert evidence.kind is SolveKind.SMALL_TRANSLATION
    assert evidence.focal_px == pytest.approx(F, rel=0.03)
    assert evidence.unexplained_share is not None and evidence.unexplained_share < 0.1


@pytest.mark.parametrize("kind", ["dolly", "handheld", "orbit", "walk"])
def test_moves_with_parallax_are_full(kind: str) -> None:
    evidence = _classify(kind)
    assert evidence.kind is SolveKind.FULL
    assert evidence.unexplained_share is not None and evidence.unexplained_share > 0.2


def test_tracks_on_something_moving_on_its_own_are_dropped() -> None:
    points = scene_points()
    cameras = motion("dolly", 24)
    tracks = project(points, cameras, F)
    movers = np.arange(40)
    # Forty points rise 2 px a frame: across the sideways dolly's epipolar lines (motion
    # along them cannot be told from depth).
    for i, frame in enumerate(tracks.frames):
        frame.xy[np.isin(frame.ids, movers)] += [0.0, -2.0 * i]
    keyframes = select_keyframes(tracks, KeyframeSettings())
    classify(tracks, keyframes, 1.4)
    remaining = np.concatenate([f.ids for f in tracks.frames[keyframes[1] :]])
    assert not np.isin(movers, remaining).any()
    # What was dropped is kept, frame by frame, where the movers were seen.
    seen = project(points, cameras, F)
    rejected = tracks.rejected_xy()
    for i, frame in enumerate(seen.frames):
        on_mover = frame.xy[np.isin(frame.ids, movers)] + [0.0, -2.0 * i]
        assert len(rejected[i]) >= len(on_mover) > 0
        # Every mover observation is among the rejected positions.
        gaps = np.linalg.norm(on_mover[:, None] - rejected[i][None], axis=2).min(axis=1)
        assert gaps.max() < 1e-9
