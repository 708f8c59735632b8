"""A plate's lens taken out and put back: what depth and masks see, what masks publish."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ingest_service.camera.lens import Lens
from ingest_service.camera.lens_maps import PlateLens
from ingest_service.samples.scene import Scene, motion
from tests.lens_plates import F, H, W

BARREL = Lens(F, F, W / 2, H / 2, k1=-0.15, k2=0.03)
PINCUSHION = Lens(F, F, W / 2, H / 2, k1=0.12)


CAMERA = motion("dolly", 24)[10]


def soft(image: np.ndarray) -> np.ndarray:
    """Softened, so that resampling a sharp texture does not hide geometric error."""
    out: np.ndarray = cv2.GaussianBlur(image, (0, 0), 1.5)
    return out


@pytest.fixture(scope="module")
def pinhole() -> np.ndarray:
    return Scene().render(CAMERA, F, W, H).image


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_a_lens_without_distortion_leaves_images_alone(pinhole: np.ndarray) -> None:
    plate_lens = PlateLens(Lens(F, F, W / 2, H / 2), W, H)
    assert plate_lens.geometry == "plate"
    assert plate_lens.to_pinhole(pinhole) is pinhole
    assert plate_lens.to_plate(pinhole) is pinhole
    assert plate_lens.covered.all()


def test_undistorting_a_plate_gives_the_pinhole_image(pinhole: np.ndarray) -> None:
    # Through the lens:
    plate = soft(Scene().render(CAMERA, F, W, H, k1=BARREL.k1, k2=BARREL.k2).image)
    plate_lens = PlateLens(BARREL, W, H)
    assert plate_lens.geometry == "undistorted"
    seen = plate_lens.to_pinhole(plate).astype(np.float32)
    truth = soft(pinhole).astype(np.float32)
    core = (slice(10, -10), slice(10, -10))
    error = np.abs(seen - truth)[core].mean()
    ignored = np.abs(plate.astype(np.float32) - truth)[core].mean()
    # What is left is the renders' aliasing resampled; ignoring the lens leaves
    # everything away from the centre pixels out.
    assert error < 4
    assert ignored > 3 * error


def test_a_pinhole_mask_put_back_on_the_plate_lines_up_with_it() -> None:
    strong = Lens(F, F, W / 2, H / 2, k1=-0.3, k2=0.08)
    scene = Scene(mover="close", frames=24)  # a large box entering from the frame's edge
    _, _, mask = scene.render(CAMERA, F, W, H, 4)
    _, _, truth = scene.render(CAMERA, F, W, H, 4, k1=strong.k1, k2=strong.k2)
    on_plate = PlateLens(strong, W, H).to_plate(mask.astype(np.uint8) * 255)
    assert set(np.unique(on_plate)) == {0, 255}  # nearest neighbour: still a hard matte
    # Barrel distortion: the plate's margins see past the pinhole frame; compare inside.
    core = (slice(15, -15), slice(25, -25))
    assert iou(on_plate[core] > 0, truth[core]) > 0.97
    assert iou(mask[core], truth[core]) < 0.9  # without the lens put back it would be off


def test_pincushion_leaves_the_pinhole_edges_bare() -> None:
    covered = PlateLens(PINCUSHION, W, H).covered
    assert not covered[0, 0] and not covered[-1, -1] and not covered[H // 2, 0]
    assert covered[H // 2, W // 2] and covered[H // 2, 20]
    assert 0.9 < covered.mean() < 0.95
    assert PlateLens(BARREL, W, H).covered.all()  # barrel: the plate overfills the frame


def test_an_image_of_another_size_is_refused(pinhole: np.ndarray) -> None:
    with pytest.raises(ValueError, match="the lens is for 320x180"):
        PlateLens(BARREL, W, H).to_pinhole(cv2.resize(pinhole, (160, 90)))
