"""The published frames as the solved pinhole camera sees them.

Depth and masks reason with pinhole projections (plane sweeps, warps through depth,
projected scene points). When the solve found lens distortion, each frame is undistorted
to the solve's K, at the plate's size, before they see it; their outputs are then in that
undistorted geometry, and `plate_lens.to_plate` puts the lens back where the plate's
geometry is wanted.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from ingest_service.camera.frames_in import to_display_8bit
from ingest_service.camera.lens_maps import PlateLens
from ingest_service.camera.solution import CameraSolution
from ingest_service.jobs.results import OutputFile
from storage import ObjectStore


class PinholeFrames:
    def __init__(
        self, store: ObjectStore, files: list[OutputFile], solution: CameraSolution, scratch: Path
    ) -> None:
        self.store = store
        self.files = files
        self.solution = solution
        self.scratch = scratch

    @cached_property
    def plate_lens(self) -> PlateLens:
        """The solve's lens at the frames' size (camera.json is for the published frames)."""
        s = self.solution
        return PlateLens(s.intrinsics.lens, s.width, s.height)

    def bgr(self, index: int) -> np.ndarray:
        """Frame `index` as 8-bit BGR, undistorted when the lens distorts, whatever format
        the frames were published in."""
        key = self.files[index].key
        return self.plate_lens.to_pinhole(
            to_display_8bit(self.store.get(key).data, key, self.scratch)
        )
