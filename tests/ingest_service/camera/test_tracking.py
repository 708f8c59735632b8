"""Point tracking: tracks follow the image, are checked both ways, thin out and re-seed,
and a cut is noticed."""

from __future__ import annotations

import cv2
import numpy as np

from ingest_service.camera.tracking import TrackingSettings, track


def _texture(seed: int, size: tuple[int, int] = (400, 600)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.random((size[0] // 8, size[1] // 8)).astype(np.float32)
    image = cv2.resize(noise, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def _shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_CUBIC)


def test_tracks_follow_a_known_shift_to_a_tenth_of_a_pixel() -> None:
    base = _texture(0)
    frames = [_shifted(base, 1.5 * i, -0.75 * i) for i in range(6)]
    tracks = track(iter(frames), TrackingSettings(points=300))
    assert not tracks.cuts
    ids, a, b = tracks.common(0, 5)
    assert len(ids) > 200
    motion = np.median(b - a, axis=0)
    assert np.allclose(motion, [7.5, -3.75], atol=0.1)
    # Published pixel convention: the top-left pixel's centre is (0.5, 0.5).
    assert tracks.frames[0].xy.min() >= 0.5


def test_tracks_leaving_the_frame_are_replaced_and_never_revived() -> None:
    base = _texture(1, (400, 1300))
    # 32 px a frame: after 19 frames the view has moved past everything frame 0 saw.
    frames = [base[:, 32 * i : 32 * i + 600] for i in range(20)]
    tracks = track(iter(frames), TrackingSettings(points=300))
    counts = [len(f.ids) for f in tracks.frames]
    assert min(counts) > 0.7 * 300
    ids_first, ids_last = set(tracks.frames[0].ids), set(tracks.frames[-1].ids)
    assert not ids_first & ids_last
    assert tracks.lengths().max() <= 20


def test_a_cut_to_another_shot_is_noticed() -> None:
    frames = [_texture(2)] * 4 + [_texture(3)] * 4
    tracks = track(iter(frames), TrackingSettings(points=300))
    assert tracks.cuts == [4]
