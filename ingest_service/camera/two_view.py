"""What two views of the same tracks say: a homography or epipolar geometry, and which
tracks break it.

For a pair of frames, both a homography (camera rotation only, or a flat scene) and a
fundamental matrix (any rigid scene) are fitted with seeded LO-RANSAC, and Torr's GRIC
(geometric robust information criterion) says which the evidence supports: the
fundamental matrix always fits at least as well, so it has to win by more than its extra
dimension costs. Tracks that fit neither are on something that moves on its own, or have
slipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pycolmap

SEED = 0  # every RANSAC is seeded: the same frames give the same answer


@dataclass(frozen=True)
class PairEvidence:
    first: int  # frame indices, first < second
    second: int
    ids: np.ndarray  # the tracks both frames see
    h: np.ndarray  # maps pixels of `first` to pixels of `second`
    inliers: np.ndarray  # bool per track: consistent with the epipolar geometry
    gric_h: float
    gric_f: float
    parallax_px: float  # median motion, among inliers, that the homography does not explain
    sigma: float  # tracking noise on this pair, px

    @property
    def homography_wins(self) -> bool:
        return self.gric_h <= self.gric_f


def _ransac(max_error: float) -> pycolmap.RANSACOptions:
    options = pycolmap.RANSACOptions()
    options.max_error = max_error
    options.random_seed = SEED
    options.num_threads = 1
    options.min_num_trials = 200
    return options


def transfer_error(h: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Distance in pixels between where `h` sends p1 and where p2 was seen."""
    moved = np.c_[p1, np.ones(len(p1))] @ h.T
    with np.errstate(divide="ignore", invalid="ignore"):
        projected = moved[:, :2] / moved[:, 2:]
    error = np.linalg.norm(projected - p2, axis=1)
    return np.where(np.isfinite(error), error, np.inf)


def gric(squared: np.ndarray, sigma: float, dimension: int, parameters: int) -> float:
    # Torr 1998: r = 4 (two 2D points per correspondence); residuals capped at
    # lambda3 (r - d) so that outliers count the same whichever model they break.
    n = len(squared)
    capped = np.minimum(squared / sigma**2, 2.0 * (4 - dimension))
    return float(capped.sum() + np.log(4) * dimension * n + np.log(4 * n) * parameters)


def compare(
    first: int,
    second: int,
    ids: np.ndarray,
    p1: np.ndarray,
    p2: np.ndarray,
    max_error: float,
) -> PairEvidence | None:
    """Evidence from one pair; None when too few tracks or no model fits."""
    if len(ids) < 16:
        return None
    fundamental = pycolmap.estimate_fundamental_matrix(p1, p2, _ransac(max_error))
    homography = pycolmap.estimate_homography_matrix(p1, p2, _ransac(max_error))
    if fundamental is None or homography is None:
        return None
    f = np.asarray(fundamental["F"])
    h = np.asarray(homography["H"])
    sampson = np.asarray(pycolmap.compute_squared_sampson_error(p1, p2, f))
    transfer = transfer_error(h, p1, p2)
    inliers = np.asarray(fundamental["inlier_mask"], bool)
    # Tracking noise, measured on this pair's own inliers (never below what H.264 leaves).
    sigma = max(0.2, 1.4826 * float(np.median(np.sqrt(sampson[inliers]))) if inliers.any() else 1)
    # Split between the two images, a transfer distance t is t²/2 in the joint 4D space
    # that Sampson's error also measures.
    gric_h = gric(transfer**2 / 2, sigma, 2, 8)
    gric_f = gric(sampson, sigma, 3, 7)
    parallax = float(np.median(transfer[inliers])) if inliers.any() else 0.0
    return PairEvidence(first, second, ids, h, inliers, gric_h, gric_f, parallax, sigma)
