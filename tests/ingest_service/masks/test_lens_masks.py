"""Classical masks through a distorting lens: measured undistorted, published on the plate."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.camera.lens import Lens
from ingest_service.camera.lens_maps import PlateLens
from ingest_service.masks.classical import working_pixels
from ingest_service.stages import depth as depth_stage
from ingest_service.stages import masks as masks_stage
from ingest_service.stages.base import StageOutput
from tests.lens_plates import F, H, LensPlate, W, lens_job, record_output

STRONG_BARREL = Lens(F, F, W / 2, H / 2, k1=-0.3, k2=0.08)  # 24 px at the corners


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _masks(plate: LensPlate) -> tuple[StageOutput, list[float]]:
    """Depth then masks; each published mask's IoU with the truth on the plate."""
    record_output(plate.ctx.job, "depth", depth_stage.run(plate.ctx))
    output = masks_stage.run(plate.ctx)
    scores = []
    for i in range(3, 21):
        key = f"{plate.ctx.output_prefix}masks/moving/mask.{i + 1:04d}.png"
        mask = cv2.imdecode(
            np.frombuffer(plate.ctx.store.get(key).data, np.uint8), cv2.IMREAD_UNCHANGED
        )
        assert mask.shape == (H, W) and set(np.unique(mask)) <= {0, 255}
        scores.append(iou(mask == 255, plate.moving[i]))
    return output, scores


@pytest.mark.slow
def test_moving_object_masks_line_up_with_a_distorted_plate(tmp_path: Path) -> None:
    output, scores = _masks(lens_job(tmp_path / "known", STRONG_BARREL, mover=True))
    assert output.parameters["geometry"] == "plate"
    assert output.parameters["undistorted_to_measure"] is True
    assert np.mean(scores) > 0.85, [round(s, 2) for s in scores]
    # A camera blind to the lens explains the static scene badly away from the centre.
    blind = lens_job(
        tmp_path / "blind", STRONG_BARREL, claimed=Lens(F, F, W / 2, H / 2), mover=True
    )
    blind_output, blind_scores = _masks(blind)
    assert blind_output.parameters["undistorted_to_measure"] is False
    # Measured 0.78 blind against 0.88 with the lens: edges settled on colour lift both,
    # the blind camera's too, but it still trails.
    assert np.mean(blind_scores) < np.mean(scores) - 0.05


def test_rejected_tracks_land_where_the_undistorted_frame_shows_them() -> None:
    """The solve's rejected tracks are plate pixels (COLMAP's convention, distorted); the
    masks look for them in the undistorted frame, at working size."""
    lens = PlateLens(STRONG_BARREL, W, H)
    # Pixel centres (COLMAP: the top-left one is at 0.5, 0.5) near two corners and mid-frame.
    plate_xy = np.array([[0.2 * W, 0.25 * H], [0.85 * W, 0.7 * H], [0.5 * W, 0.5 * H]])
    plate_xy = np.floor(plate_xy) + 0.5
    for x, y in plate_xy:
        plate = np.zeros((H, W), np.float32)
        plate[int(y), int(x)] = 1.0
        seen = lens.to_pinhole(cv2.GaussianBlur(plate, (0, 0), 1.5))
        rows, cols = np.mgrid[:H, :W]
        centroid = np.array([(seen * cols).sum(), (seen * rows).sum()]) / seen.sum()
        found = working_pixels(np.array([[x, y]]), lens, 1.0)[0]
        np.testing.assert_allclose(
            found, centroid, atol=0.2
        )  # measured 0.05; the lens moves them 6 to 9
        assert np.linalg.norm(found - (x - 0.5, y - 0.5)) > 1 or abs(x - W / 2) < 1
    half = working_pixels(plate_xy, lens, 0.5)
    np.testing.assert_allclose(half, (working_pixels(plate_xy, lens, 1.0) + 0.5) * 0.5 - 0.5)
