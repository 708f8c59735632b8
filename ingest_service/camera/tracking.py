"""Point tracks through a plate: pyramidal Lucas-Kanade from frame to frame.

Video frames are close together, so following corners from one frame to the next is far
cheaper than describing and matching features in every frame, and it gives long tracks
that link many frames at once. Each step is checked both ways (a point tracked forward
and back must come home), tracks are re-seeded where they thin out, and a track that a
frame loses is never revived: a corner found again later is a new track.

Only the tracks are held, never the frames, so memory stays flat with clip length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from ingest_service.errors import CameraSolveError


@dataclass(frozen=True)
class TrackingSettings:
    points: int = 800  # tracks kept alive per frame
    reseed_below: float = 0.8  # top up with new corners when fewer than this share survive
    forward_backward_px: float = 0.5  # at 1024 px long side; scaled with the frame
    window: int = 15
    levels: int = 3
    min_survival: float = 0.15  # fewer surviving tracks than this from one frame: a cut


@dataclass
class FrameTracks:
    ids: np.ndarray  # int64, sorted ascending
    # float64 (n, 2) in COLMAP's pixel convention (the top-left pixel's centre is at
    # (0.5, 0.5)), the convention the published intrinsics use.
    xy: np.ndarray


@dataclass
class Tracks:
    """Where each track is in each frame; frames in plate order."""

    width: int
    height: int
    frames: list[FrameTracks] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)  # frames where most tracks were lost
    # Frame index -> where the dropped tracks were seen in it: what broke the static
    # scene's geometry, the evidence of things that move on their own.
    rejected: dict[int, list[np.ndarray]] = field(default_factory=dict)

    def common(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(track ids, positions in frame a, positions in frame b) of tracks seen in both."""
        fa, fb = self.frames[a], self.frames[b]
        ids, ia, ib = np.intersect1d(fa.ids, fb.ids, assume_unique=True, return_indices=True)
        return ids, fa.xy[ia], fb.xy[ib]

    def drop(self, bad: np.ndarray) -> None:
        """Forget every observation of the tracks `bad` (e.g. on an object that moves),
        keeping where they were in `rejected`."""
        if len(bad) == 0:
            return
        for index, frame in enumerate(self.frames):
            keep = ~np.isin(frame.ids, bad, assume_unique=True)
            if not keep.all():
                self.rejected.setdefault(index, []).append(frame.xy[~keep])
            frame.ids, frame.xy = frame.ids[keep], frame.xy[keep]

    def rejected_xy(self) -> dict[int, np.ndarray]:
        """Frame index -> (n, 2) positions of the dropped tracks' observations."""
        return {i: np.concatenate(parts) for i, parts in sorted(self.rejected.items())}

    def lengths(self) -> np.ndarray:
        """Frames each track is seen in."""
        all_ids = np.concatenate([f.ids for f in self.frames]) if self.frames else np.zeros(0)
        return np.unique(all_ids, return_counts=True)[1]


def track(images: Iterable[np.ndarray], settings: TrackingSettings) -> Tracks:
    """Tracks through 8-bit grey `images` (all the same size, in plate order)."""
    tracks: Tracks | None = None
    previous: np.ndarray | None = None
    ids = np.zeros(0, np.int64)
    xy = np.zeros((0, 2), np.float32)
    next_id = 0
    for index, image in enumerate(images):
        if tracks is None:
            tracks = Tracks(width=image.shape[1], height=image.shape[0])
        if previous is not None and len(xy):
            alive = len(xy)
            ids, xy = _follow(previous, image, ids, xy, settings, tracks.width, tracks.height)
            if len(xy) < settings.min_survival * alive:
                tracks.cuts.append(index)
        if len(xy) < settings.reseed_below * settings.points:
            fresh = _corners(image, xy, settings.points - len(xy), tracks.width)
            ids = np.concatenate([ids, np.arange(next_id, next_id + len(fresh))])
            xy = np.concatenate([xy, fresh])
            next_id += len(fresh)
        # OpenCV indexes pixel centres at integers; COLMAP at +0.5.
        tracks.frames.append(FrameTracks(ids.copy(), xy.astype(np.float64) + 0.5))
        previous = image
    if tracks is None:
        raise CameraSolveError("the plate has no frames to track")
    return tracks


def _min_distance(width: int) -> int:
    # Spread corners over the frame: one per cell of about 1/80 of the width.
    return max(4, round(width / 80))


def _corners(image: np.ndarray, existing: np.ndarray, wanted: int, width: int) -> np.ndarray:
    if wanted <= 0:
        return np.zeros((0, 2), np.float32)
    distance = _min_distance(width)
    mask = np.full(image.shape[:2], 255, np.uint8)
    for x, y in existing.astype(int):
        cv2.circle(mask, (int(x), int(y)), distance, 0, -1)
    found = cv2.goodFeaturesToTrack(
        image, maxCorners=wanted, qualityLevel=0.005, minDistance=distance, mask=mask, blockSize=7
    )
    if found is None:
        return np.zeros((0, 2), np.float32)
    return np.asarray(found, np.float32).reshape(-1, 2)


def _follow(
    previous: np.ndarray,
    image: np.ndarray,
    ids: np.ndarray,
    xy: np.ndarray,
    settings: TrackingSettings,
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    window = (settings.window, settings.window)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)
    start = xy.reshape(-1, 1, 2).astype(np.float32)
    levels = settings.levels
    # Without OPTFLOW_USE_INITIAL_FLOW the fourth argument is only an output buffer.
    moved, ok, _ = cv2.calcOpticalFlowPyrLK(
        previous, image, start, start.copy(), winSize=window, maxLevel=levels, criteria=criteria
    )
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(
        image,
        previous,
        np.asarray(moved),
        start.copy(),
        winSize=window,
        maxLevel=levels,
        criteria=criteria,
    )
    moved, back = np.asarray(moved).reshape(-1, 2), np.asarray(back).reshape(-1, 2)
    tolerance = settings.forward_backward_px * max(1.0, max(width, height) / 1024)
    keep = (
        ok.ravel().astype(bool)
        & ok_back.ravel().astype(bool)
        & (np.linalg.norm(back - xy, axis=1) < tolerance)
        & (moved[:, 0] >= 0)
        & (moved[:, 1] >= 0)
        & (moved[:, 0] <= width - 1)
        & (moved[:, 1] <= height - 1)
    )
    return ids[keep], moved[keep]
