"""rejected_tracks.json: where the camera solve found points that do not hold still.

The tracks front end drops every track that breaks the static scene's epipolar geometry
between two keyframes (mostly points on something that moves on its own), and the final
adjustment drops observations that land more than 2 px from their point's projection
(tracks that slipped, and the edges of things that move). Both are published per frame, in
the plate's pixels, so the masks stage can start from what the solve already knows moves
instead of guessing a second time, and an artist checking a solve can see what it left out.
The features front end tracks nothing, and publishes no such file.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from ingest_service.jobs.results import CameraResult
from storage import ObjectStore

FILE_NAME = "rejected_tracks.json"
Point = tuple[float, float]


class RejectedFrame(BaseModel):
    frame: int = Field(description="the plate's frame number")
    moving: list[Point] = Field(
        description="tracks that broke the static scene's epipolar geometry, seen here"
    )
    outliers: list[Point] = Field(
        description="observations the final adjustment dropped (over 2 px off their point)"
    )


class RejectedTracks(BaseModel):
    coordinates: Literal["plate"] = Field(
        default="plate",
        description="pixels of the published frames, distorted as the plate is; COLMAP's "
        "convention: the top-left pixel's centre is at (0.5, 0.5)",
    )
    width: int
    height: int
    frames: list[RejectedFrame]

    @classmethod
    def of(
        cls,
        moving: dict[int, np.ndarray],
        outliers: dict[int, np.ndarray],
        frame_numbers: list[int],
        *,
        width: int,
        height: int,
        scale: float,
    ) -> RejectedTracks:
        """From the solve's per-frame-index points at solve resolution (`scale` of the
        published frames)."""

        def points(found: dict[int, np.ndarray], index: int) -> list[Point]:
            xy = found.get(index, np.zeros((0, 2))) / scale
            return [(round(float(x), 2), round(float(y), 2)) for x, y in xy]

        frames = [
            RejectedFrame(frame=number, moving=points(moving, i), outliers=points(outliers, i))
            for i, number in enumerate(frame_numbers)
        ]
        return cls(width=width, height=height, frames=frames)

    def moving_xy(self, index: int) -> np.ndarray:
        """(n, 2) float64 positions of the moving tracks in the frame at `index`."""
        return np.array(self.frames[index].moving, dtype=np.float64).reshape(-1, 2)


def load_rejected(store: ObjectStore, camera: CameraResult) -> RejectedTracks | None:
    """The camera stage's rejected tracks, or None when its solve published none (the
    features front end, or a job solved before the file existed)."""
    for entry in camera.files:
        if entry.key.rsplit("/", 1)[-1] == FILE_NAME:
            return RejectedTracks.model_validate_json(store.get(entry.key).data)
    return None
