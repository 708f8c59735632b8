from __future__ import annotations

import pytest

from ingest_service.errors import SidecarInvalidError
from ingest_service.jobs.options import DepthBackend, FrameFormat, MasksBackend
from ingest_service.jobs.sidecar import parse_sidecar


def test_full_sidecar_is_read() -> None:
    options = parse_sidecar(
        b'{"shot": "sq010/SH 0040", "stages": ["probe", "frames"], '
        b'"frame_range": {"first": 10, "last": 20}, "first_frame": 1001, "frame_format": "exr", '
        b'"mask_prompts": [" person ", "car"], "focal_length_mm": 35, "sensor_width_mm": 36, '
        b'"depth_backend": "depth-anything", "masks_backend": "sam3"}',
        "incoming/x.mov.json",
    )
    assert options.depth_backend is DepthBackend.DEPTH_ANYTHING
    assert options.masks_backend is MasksBackend.SAM3
    assert options.shot == "sq010/SH_0040"
    assert options.frame_range is not None and options.frame_range.first == 10
    assert options.frame_format is FrameFormat.EXR
    assert options.mask_prompts == ["person", "car"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid sidecar"),
        (b'{"shots": "typo"}', "shots: Extra inputs are not permitted"),
        (b'{"frame_range": {"first": 20, "last": 10}}', "must not be before"),
        (b'{"first_frame": -1}', "first_frame"),
        (b'{"shot": "../.."}', "no usable characters"),
        (b'{"mask_prompts": [""]}', "1 to 200 characters"),
        (b'{"frame_format": "tiff"}', "frame_format"),
        (b'{"depth_backend": "lidar"}', "depth_backend"),
        (b'{"mask_prompts": []}', "mask_prompts"),
        (b"[]", "file"),
    ],
)
def test_invalid_sidecars_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(SidecarInvalidError, match=r"incoming/x\.mov\.json") as info:
        parse_sidecar(body, "incoming/x.mov.json")
    assert message in str(info.value)


def test_oversized_sidecar_is_refused() -> None:
    with pytest.raises(SidecarInvalidError, match="larger than"):
        parse_sidecar(b" " * 70_000, "k.json")
