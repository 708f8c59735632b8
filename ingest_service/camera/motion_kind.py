"""Which kind of camera move the tracks show: locked off, a nodal pan, a pan that travels a
little, or a move with full parallax, chosen on the evidence of every keyframe pair.

- static: tracks stay put (within a fraction of a pixel) for the whole plate;
- rotation-dominant: a rotation model (one focal length for the plate, a rotation per
  pair, H = K R K⁻¹) explains nearly all of the tracks' motion; for a dolly or a walk it
  leaves a third of the motion or more unexplained, for a pan on a head that travels half a
  metre about one hundredth;
- within rotation-dominant, the move is nodal when the rotation model wins Torr's GRIC
  against epipolar geometry on (nearly) every pair, so nothing but noise is left, and a
  pan that travels a little otherwise: its focal length then comes from the rotation, which
  pins it far better than the little parallax does;
- full otherwise.

Tracks that break a pair's geometry (things that move on their own) are dropped here,
before anything is solved from them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ingest_service.camera.rotation_only import PairHomography, estimate_focal, rotation_between
from ingest_service.camera.solution import SolveKind
from ingest_service.camera.tracking import Tracks
from ingest_service.camera.two_view import PairEvidence, compare, gric, transfer_error

STATIC_PX = 0.5  # tracks moving less than this over the plate: a locked-off camera
# Share of the tracks' motion a rotation model may leave unexplained for a rotation-dominant
# move (measured: pan with 0.5 m travel 0.010; handheld 0.40; dolly 1.15).
ROTATION_FLOW_SHARE = 0.1
NODAL_SHARE = 0.9  # of pairs on which the rotation model must win for a nodal move


@dataclass
class MotionEvidence:
    kind: SolveKind
    pairs: list[PairEvidence]
    focal_px: float | None  # from the rotation, for rotation-dominant moves
    unexplained_share: float | None  # of the motion, by the rotation model (median pair)
    rotation_wins: float  # share of pairs where the rotation model wins GRIC


def classify(tracks: Tracks, keyframes: list[int], max_error: float) -> MotionEvidence:
    """The move's kind; for a rotation-dominant move, the focal length the rotation
    measures (a sidecar's lens hint is not used here: the hint may be wrong, the rotation
    is evidence)."""
    width, height = tracks.width, tracks.height
    pairs = _pairs(tracks, keyframes, max_error)
    if _static(tracks, STATIC_PX * max(1.0, max(width, height) / 1024)):
        return MotionEvidence(SolveKind.STATIC, pairs, None, None, 1.0)
    if not pairs:
        return MotionEvidence(SolveKind.FULL, pairs, None, None, 0.0)
    homographies = [PairHomography(p.first, p.second, p.h) for p in pairs]
    focal = estimate_focal(homographies, width, height)[0]
    k = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]])
    shares, wins = [], []
    for pair in pairs:
        _, p1, p2 = tracks.common(pair.first, pair.second)
        rotation = rotation_between(p1, p2, k)
        if rotation is None:
            continue
        error = transfer_error(k @ rotation @ np.linalg.inv(k), p1, p2)
        flow = float(np.median(np.linalg.norm(p2 - p1, axis=1)))
        shares.append(float(np.median(error)) / max(flow, 1e-9))
        # A rotation is 3 parameters where a fundamental matrix is 7.
        wins.append(gric(error**2 / 2, pair.sigma, 2, 3) <= pair.gric_f)
    if not shares:
        return MotionEvidence(SolveKind.FULL, pairs, None, None, 0.0)
    share, won = float(np.median(shares)), float(np.mean(wins))
    if share > ROTATION_FLOW_SHARE:
        return MotionEvidence(SolveKind.FULL, pairs, None, share, won)
    kind = SolveKind.ROTATION_ONLY if won >= NODAL_SHARE else SolveKind.SMALL_TRANSLATION
    return MotionEvidence(kind, pairs, focal, share, won)


def _pairs(tracks: Tracks, keyframes: list[int], max_error: float) -> list[PairEvidence]:
    """Evidence for each keyframe and the next; drops the tracks that break it."""
    pairs = []
    for a, b in itertools.pairwise(keyframes):
        ids, p1, p2 = tracks.common(a, b)
        evidence = compare(a, b, ids, p1, p2, max_error)
        if evidence is None:
            continue
        if evidence.homography_wins:
            bad = ids[transfer_error(evidence.h, p1, p2) > 2 * max_error]
        else:
            bad = ids[~evidence.inliers]
        tracks.drop(bad)
        pairs.append(evidence)
    return pairs


def _static(tracks: Tracks, tolerance_px: float) -> bool:
    """Every frame's tracks where the first frame saw them, and most of them still there."""
    first = tracks.frames[0]
    for index in range(1, len(tracks.frames)):
        ids, a, b = tracks.common(0, index)
        if len(ids) < 0.5 * len(first.ids):
            return False
        if float(np.median(np.linalg.norm(b - a, axis=1))) > tolerance_px:
            return False
    return True
