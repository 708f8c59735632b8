"""Frames over the size limit are refused from the header, before any decode."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_service.errors import SourceFrameTooLargeError
from ingest_service.media.limits import FrameLimits
from ingest_service.media.video import decode_frames, describe, open_video
from ingest_service.samples.plate import make_plate
from tests.ingest_service.media.stills import growing_h264

W, H = 64, 48


@pytest.fixture(scope="module")
def small_h264(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("limits")
    return make_plate(folder / "small.mov", seconds=0.25, width=W, height=H)


@pytest.fixture(scope="module")
def growing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return growing_h264(tmp_path_factory.mktemp("growing"))


@pytest.mark.parametrize(
    "limits", [FrameLimits(W * H - 1, 10_000), FrameLimits(10**9, W - 1)], ids=["pixels", "side"]
)
def test_frames_over_the_limit_are_refused_before_decoding(
    small_h264: Path, limits: FrameLimits
) -> None:
    with (
        small_h264.open("rb") as fh,
        pytest.raises(SourceFrameTooLargeError) as refused,
        open_video(fh, "small.mov", limits),
    ):
        pytest.fail("the container was handed out")
    assert (refused.value.width, refused.value.height) == (W, H)
    message = str(refused.value)
    assert f"{W}x{H}" in message and "INGEST_MAX_FRAME_PIXELS" in message
    assert "nothing was decoded" in message
    assert not refused.value.retryable


def test_frames_at_the_limit_decode(small_h264: Path) -> None:
    limits = FrameLimits(W * H, max(W, H))
    with small_h264.open("rb") as fh, open_video(fh, "small.mov", limits) as container:
        facts = describe(container, "small.mov", limits)
    assert (facts.coded_width, facts.coded_height) == (W, H)
    assert _decode(small_h264, limits) == [(W, H)] * facts.frame_count


def _decode(path: Path, limits: FrameLimits | None) -> list[tuple[int, int]]:
    """Frame sizes, decoded as the frames stage does: its own open, after the probe's."""
    with path.open("rb") as fh, open_video(fh, path.name, limits) as container:
        describe(container, path.name, limits)
    with path.open("rb") as fh, open_video(fh, path.name, limits) as container:
        frames = decode_frames(
            container, pixel_format="bgr24", rotation=0, name=path.name, limits=limits
        )
        return [(a.shape[1], a.shape[0]) for a in frames]


def test_a_stream_that_grows_past_its_header_is_stopped_by_the_decoder(growing: Path) -> None:
    sizes = _decode(growing, None)
    assert sizes[0] == (W, H) and sizes[-1] == (2 * W, 2 * H)  # the fixture really grows

    with pytest.raises(SourceFrameTooLargeError) as refused:
        _decode(growing, FrameLimits(W * H, 10_000))
    assert (refused.value.width, refused.value.height) == (2 * W, 2 * H)
