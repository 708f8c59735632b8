"""Keyframes far apart in time are linked by descriptors when they see the same scene."""

from __future__ import annotations

from pathlib import Path

import cv2

from ingest_service.camera.keyframe_links import describe, far_pairs, link
from ingest_service.samples.scene import Scene, motion

W, H, F = 480, 270, 380.0


def test_far_pairs_double_their_gap_and_skip_what_tracks_connect() -> None:
    pairs = far_pairs(12, 6, set())
    assert {second - first for first, second in pairs} == {7, 8, 10}
    assert [p for p in pairs if p[1] == 11] == [(1, 11), (3, 11), (4, 11)]
    assert (0, 7) not in far_pairs(12, 6, {(0, 7)})


def test_a_camera_that_comes_back_is_linked_to_where_it_was(tmp_path: Path) -> None:
    scene = Scene()
    orbit = motion("orbit", 24)
    views = {"start": orbit[2], "away": orbit[23], "back": orbit[3]}
    names = []
    for name, c2w in views.items():
        names.append(f"{name}.png")
        cv2.imwrite(str(tmp_path / names[-1]), scene.render(c2w, F, W, H).image[..., ::-1])
    features = describe(tmp_path, names, [0, 1, 2])
    links = link(features, [(0, 1), (0, 2)], max_error=1.5)
    assert [(found.first, found.second) for found in links] == [(0, 2)]
    assert len(links[0].matches) >= 40
