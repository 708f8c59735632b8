"""A locked-off plate: both front ends answer one static camera without mapping."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.camera.solution import SolveKind
from ingest_service.camera.solve import SolveSettings, solve
from ingest_service.samples.scene import Scene, motion

W, H, F = 320, 180, 250.0


@pytest.fixture(scope="module")
def static_frames(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("static")
    image = Scene().render(motion("static", 1)[0], F, W, H).image[..., ::-1]
    names = [f"frame.{i:04d}.png" for i in range(1, 5)]
    for name in names:
        cv2.imwrite(str(folder / name), image)
    return folder, names


@pytest.mark.parametrize("frontend", ["tracks", "features"])
@pytest.mark.parametrize("hint", [None, 300.0])
def test_a_locked_off_plate_is_one_static_camera(
    tmp_path: Path, static_frames: tuple[Path, list[str]], frontend: str, hint: float | None
) -> None:
    folder, names = static_frames
    settings = SolveSettings(frontend=frontend, threads=1)  # type: ignore[arg-type]
    outcome = solve(folder, names, W, H, focal_hint_px=hint, settings=settings, scratch=tmp_path)
    assert outcome.kind is SolveKind.STATIC and outcome.frontend == frontend
    focal = hint or 1.2 * W  # without a hint, 1.2 times the long side
    if frontend == "tracks":
        assert outcome.model == "SIMPLE_PINHOLE"
        assert outcome.params == pytest.approx([focal, W / 2, H / 2])
    else:
        assert outcome.model == "PINHOLE"
        assert outcome.params == pytest.approx([focal, focal, W / 2, H / 2])
    assert outcome.focal_source == ("hint" if hint else "assumed")
    assert sorted(outcome.cameras) == list(range(len(names)))
    assert all(np.array_equal(c2w, np.eye(4)) for c2w in outcome.cameras.values())
    assert len(outcome.xyz) == 0 and outcome.reprojection_error_px is None
