"""Keyframes: the frames the structure is solved on, chosen by parallax and track survival.

A new keyframe is taken when the tracks show enough parallax since the last one (motion a
homography cannot explain: depth to triangulate), when too few of them survive (the view is
leaving the last keyframe behind), or when the gap grows too long. Rotation alone makes
no keyframes: the frames in between are registered to the keyframes' structure afterwards,
and a pan's rotation is measured there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pycolmap

from ingest_service.camera.tracking import Tracks
from ingest_service.camera.two_view import SEED, transfer_error


@dataclass(frozen=True)
class KeyframeSettings:
    parallax: float = 0.008  # median motion a homography leaves, share of the long side
    survival: float = 0.7  # share of the last keyframe's tracks still seen
    max_gap: int = 6  # frames


def select_keyframes(tracks: Tracks, settings: KeyframeSettings) -> list[int]:
    count = len(tracks.frames)
    keys = [0]
    parallax_px = settings.parallax * max(tracks.width, tracks.height)
    for i in range(1, count):
        last = keys[-1]
        ids, a, b = tracks.common(last, i)
        survived = len(ids) >= settings.survival * max(len(tracks.frames[last].ids), 1)
        if not survived:
            # Step back one frame so neighbouring keyframes still share most tracks.
            keys.append(i - 1 if i - 1 > last else i)
        elif i - last >= settings.max_gap or _parallax(a, b) > parallax_px:
            keys.append(i)
    if keys[-1] != count - 1:
        keys.append(count - 1)
    return keys


def _parallax(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 8:
        return np.inf
    options = pycolmap.RANSACOptions()
    options.max_error = 2.0
    options.random_seed = SEED
    options.min_num_trials = 20
    options.max_num_trials = 200
    fitted = pycolmap.estimate_homography_matrix(a, b, options)
    if fitted is None:
        return np.inf
    return float(np.median(transfer_error(np.asarray(fitted["H"]), a, b)))
