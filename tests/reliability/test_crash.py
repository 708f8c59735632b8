"""A worker killed with SIGKILL at any point of a job: the job resumes on another worker
from its last recorded stage, and what it publishes is what an uninterrupted run publishes.

Each case kills a real worker process (`process`) at one point: between stages, inside
one, after the manifest, after the job is published but before its notification is
recorded. See tests/reliability/crash.py for how a point is reached without a test hook.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_service.samples.scene import render_plate
from tests.reliability.crash import KILL_POINTS, KillPoint
from tests.reliability.crash_cases import Published, crash, uninterrupted, verdict

pytestmark = pytest.mark.slow

KEY = "incoming/sq010/sh010.mov"


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight 96x54 frames of a dolly through a textured room: enough for a camera solve
    and stereo depth, a second or two for all four stages."""
    path = tmp_path_factory.mktemp("crash-plate") / "sh010.mov"
    render_plate(path, "dolly", frames=8, width=96, height=54, f=75.0)
    return path


@pytest.fixture(scope="module")
def whole(plate: Path, tmp_path_factory: pytest.TempPathFactory) -> Published:
    return uninterrupted(plate, KEY, tmp_path_factory.mktemp("uninterrupted"))


@pytest.mark.parametrize("point", KILL_POINTS, ids=[p.name for p in KILL_POINTS])
def test_a_job_killed_mid_run_resumes_and_publishes_what_an_uninterrupted_run_does(
    point: KillPoint, plate: Path, whole: Published, tmp_path: Path
) -> None:
    result = crash(plate, KEY, point, tmp_path)
    assert result.left.record is not None and point.reached(result.left)
    broken = [promise for promise, kept in verdict(result, whole).items() if not kept]
    assert broken == [], (result.left, result.resumed.record)
