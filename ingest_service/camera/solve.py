"""The camera solve: the tracks front end, or the features front end when tracking fails.

Every solve is seeded and runs its steps in a fixed order, so the same frames with the
same settings give the same cameras (see docs/camera.md for the one exception: the last
bits of a multithreaded bundle adjustment).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pycolmap

from ingest_service.camera.features_solve import solve_features
from ingest_service.camera.outcome import SolveInput, SolveOutcome, SolveSettings
from ingest_service.camera.video_solve import TrackingFailedError, solve_tracks
from ingest_service.errors import CameraSolveError

__all__ = ["SolveOutcome", "SolveSettings", "solve"]
log = logging.getLogger(__name__)


def solve(
    image_dir: Path,
    names: list[str],
    width: int,
    height: int,
    *,
    focal_hint_px: float | None,
    settings: SolveSettings,
    scratch: Path,
) -> SolveOutcome:
    """Cameras for `names` (in frame order) from images of `width` x `height`."""
    if len(names) < 3:
        raise CameraSolveError(
            f"a camera solve needs at least 3 frames, the plate has {len(names)}"
        )
    # COLMAP logs every step at INFO; keep that for -vv (DEBUG) runs only.
    pycolmap.logging.minloglevel = 0 if log.isEnabledFor(logging.DEBUG) else 2
    # Whatever pycolmap draws without a seed of its own starts from the same state.
    pycolmap.set_random_seed(0)
    given = SolveInput(image_dir, names, width, height, focal_hint_px, scratch)
    if settings.frontend == "tracks":
        try:
            return solve_tracks(given, settings)
        except TrackingFailedError as exc:
            log.warning("tracking failed (%s): solving from features instead", exc)
            outcome = solve_features(given, settings)
            outcome.fallback_reason = str(exc)
            return outcome
    return solve_features(given, settings)
