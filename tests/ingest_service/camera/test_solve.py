"""The solve's front ends: tracks by default, SIFT features when tracking fails."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from ingest_service.camera.solve import SolveSettings, solve
from ingest_service.samples.scene import Scene, motion

W, H, F = 320, 180, 250.0


@pytest.mark.slow
def test_a_plate_with_a_cut_falls_back_to_features_and_says_why(tmp_path: Path) -> None:
    scene = Scene()
    cameras = motion("orbit", 12) + motion("dolly", 12)  # a cut between two shots
    names = []
    for i, c2w in enumerate(cameras):
        names.append(f"frame.{i + 1:04d}.png")
        cv2.imwrite(str(tmp_path / names[-1]), scene.render(c2w, F, W, H).image[..., ::-1])
    outcome = solve(
        tmp_path,
        names,
        W,
        H,
        focal_hint_px=None,
        settings=SolveSettings(threads=1),
        scratch=tmp_path,
    )
    assert outcome.frontend == "features"
    assert outcome.fallback_reason == "tracks were lost at frame 13 (a cut or a flash)"
    assert len(outcome.cameras) >= 12
