"""Randomly initialised models of the real architectures, for timing without weights.

Random weights run the same kernels on the same shapes as the published checkpoints,
so throughput and memory are true; what they predict is noise.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class DptSize(NamedTuple):
    """A Depth Anything V2 size: DINOv2 backbone (hidden width, layers, heads, the layers
    the head reads) and DPT head (neck widths, fusion width)."""

    hidden: int
    layers: int
    heads: int
    out: list[int]
    neck: list[int]
    fusion: int


# The -hf checkpoints' sizes.
DEPTH_ANYTHING_V2 = {
    "small": DptSize(384, 12, 6, [3, 6, 9, 12], [48, 96, 192, 384], 64),
    "base": DptSize(768, 12, 12, [3, 6, 9, 12], [96, 192, 384, 768], 128),
    "large": DptSize(1024, 24, 16, [5, 12, 18, 24], [256, 512, 1024, 1024], 256),
}


def depth_anything_v2(size: str, device: str = "cpu") -> Any:
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    spec = DEPTH_ANYTHING_V2[size]
    backbone = Dinov2Config(
        hidden_size=spec.hidden,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        image_size=518,
        patch_size=14,
        out_indices=spec.out,
        reshape_hidden_states=False,
        layerscale_value=1.0,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        neck_hidden_sizes=spec.neck,
        fusion_hidden_size=spec.fusion,
        head_hidden_size=32,
        patch_size=14,
        reassemble_hidden_size=spec.hidden,
        depth_estimation_type="relative",
    )
    with torch.device(device):
        return DepthAnythingForDepthEstimation(config).eval()


def sam3_video(device: str = "cpu", *, max_objects: int | None = None, eager: bool = False) -> Any:
    """SAM 3 video at its published size (the default config). `eager` lowers the
    detection thresholds so random weights yield objects for the tracker to carry
    (capped at `max_objects`), which is the load a plate with people in it puts on it."""
    import torch
    from transformers import Sam3VideoConfig, Sam3VideoModel

    extra: dict[str, Any] = {}
    if eager:
        extra.update(score_threshold_detection=0.0, new_det_thresh=0.0)
    if max_objects is not None:
        extra["max_num_objects"] = max_objects
    config = Sam3VideoConfig(**extra)
    with torch.device(device):
        return Sam3VideoModel(config).eval()
