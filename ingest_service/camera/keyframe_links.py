"""Links between keyframes far apart in time: descriptors where tracks cannot reach.

A track ends when its point leaves the frame, so tracks alone never tell the solve that a
camera which pans away and back is looking at the same wall again, and small errors pile
up along the move. Keyframes (only keyframes) are described with ORB features, and pairs
too far apart to share tracks are matched and checked against epipolar geometry; the
links that hold go to the mapper beside the tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pycolmap

from ingest_service.camera.two_view import SEED

FEATURES = 1000
MAX_LINKS = 200  # per pair, the closest descriptor matches (ORB is coarser than tracks)
MIN_LINKS = 40  # verified matches a far pair needs
MIN_INLIER_SHARE = 0.3
RATIO = 0.8  # Lowe's ratio test


@dataclass(frozen=True)
class KeyframeFeatures:
    xy: np.ndarray  # (n, 2), COLMAP pixel convention
    descriptors: np.ndarray  # (n, 32) uint8


@dataclass(frozen=True)
class Link:
    first: int  # positions in the keyframe list, first < second
    second: int
    matches: np.ndarray  # (m, 2) indices into each keyframe's features


def describe(image_dir: Path, names: list[str], keyframes: list[int]) -> list[KeyframeFeatures]:
    orb = cv2.ORB.create(nfeatures=FEATURES, scaleFactor=1.2, nlevels=4)
    described = []
    for frame in keyframes:
        image = cv2.imread(str(image_dir / names[frame]), cv2.IMREAD_GRAYSCALE)
        points, descriptors = orb.detectAndCompute(image, None) if image is not None else ([], None)
        if descriptors is None:
            described.append(KeyframeFeatures(np.zeros((0, 2)), np.zeros((0, 32), np.uint8)))
            continue
        # OpenCV puts pixel centres at integers; COLMAP at +0.5.
        xy = np.array([p.pt for p in points], dtype=float).reshape(-1, 2) + 0.5
        described.append(KeyframeFeatures(xy, descriptors))
    return described


def far_pairs(count: int, near: int, connected: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keyframe pairs beyond `near` apart, at doubling gaps (near+1, near+2, near+4, …),
    that tracks do not already connect: a camera that comes back is found from any
    keyframe at a few dozen comparisons, and views the tracks link are left alone."""
    pairs = []
    for second in range(count):
        gap = near + 1
        while second - gap >= 0:
            if (second - gap, second) not in connected:
                pairs.append((second - gap, second))
            gap = near + 2 * (gap - near)
    return sorted(pairs)


def link(
    features: list[KeyframeFeatures], pairs: list[tuple[int, int]], max_error: float
) -> list[Link]:
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    options = pycolmap.RANSACOptions()
    options.max_error = max_error
    options.random_seed = SEED
    links = []
    for a, b in pairs:
        fa, fb = features[a], features[b]
        if len(fa.xy) < MIN_LINKS or len(fb.xy) < MIN_LINKS:
            continue
        candidates = matcher.knnMatch(fa.descriptors, fb.descriptors, k=2)
        good = [m[0] for m in candidates if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
        if len(good) < MIN_LINKS:
            continue
        matches = np.array([(m.queryIdx, m.trainIdx) for m in good], dtype=np.int64)
        fitted = pycolmap.estimate_fundamental_matrix(
            fa.xy[matches[:, 0]], fb.xy[matches[:, 1]], options
        )
        if fitted is None:
            continue
        inliers = np.asarray(fitted["inlier_mask"], bool)
        if inliers.sum() >= MIN_LINKS and inliers.mean() >= MIN_INLIER_SHARE:
            distance = np.array([m.distance for m in good])[inliers]
            links.append(
                Link(a, b, matches[inliers][np.argsort(distance, kind="stable")[:MAX_LINKS]])
            )
    return links
