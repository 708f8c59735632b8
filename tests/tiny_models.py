"""Tiny, randomly initialised models of the real architectures, saved like hub snapshots.

The tests run the real loading and inference code on them; their outputs are noise,
so tests assert shapes, plumbing and what the backends do with any prediction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEPTH_INPUT = 70  # the short side the tiny depth model is fed (5 patches)
SAM3_INPUT = 112  # 8 patches a side
# One tiny width for every transformer in both models: enough to run the real code.
TINY = dict(hidden_size=32, num_attention_heads=2)


def build_depth_anything(folder: Path) -> Path:
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    torch.manual_seed(0)
    backbone = Dinov2Config(
        **TINY,
        num_hidden_layers=4,
        mlp_ratio=2,
        image_size=DEPTH_INPUT,
        patch_size=14,
        out_features=["stage1", "stage2", "stage3", "stage4"],
        reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16,
        head_hidden_size=8,
        reassemble_hidden_size=32,
        patch_size=14,
    )
    DepthAnythingForDepthEstimation(config).eval().save_pretrained(folder)
    _preprocessor(folder, DEPTH_INPUT, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    return folder


def build_sam3(folder: Path, *, eager: bool = True) -> Path:
    """`eager` lowers the detection thresholds so random weights still yield instances
    (the real checkpoint's thresholds would, rightly, find nothing in noise)."""
    import torch
    from transformers import Sam3VideoConfig, Sam3VideoModel

    torch.manual_seed(0)
    tokens = SAM3_INPUT // 14
    vit = dict(
        model_type="sam3_vit_model",
        **TINY,
        intermediate_size=64,
        num_hidden_layers=2,
        image_size=SAM3_INPUT,
        patch_size=14,
        window_size=4,
        global_attn_indexes=[1],
        pretrain_image_size=56,
    )
    vision = dict(
        model_type="sam3_vision_model",
        backbone_config=vit,
        fpn_hidden_size=256,
        backbone_feature_sizes=[[4 * tokens] * 2, [2 * tokens] * 2, [tokens] * 2],
    )
    small = dict(num_attention_heads=2, intermediate_size=64)
    detector = dict(
        model_type="sam3",
        vision_config=vision,
        text_config=dict(
            model_type="clip_text_model",
            **TINY,
            intermediate_size=64,
            num_hidden_layers=1,
            vocab_size=64,
            projection_dim=32,
            max_position_embeddings=32,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        ),
        geometry_encoder_config=dict(hidden_size=256, num_layers=1, **small),
        detr_encoder_config=dict(hidden_size=256, num_layers=1, **small),
        detr_decoder_config=dict(hidden_size=256, num_layers=1, num_queries=8, **small),
        mask_decoder_config=dict(hidden_size=256, num_attention_heads=2),
    )
    tracker = dict(
        model_type="sam3_tracker_video",
        vision_config=vision,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_fuser_num_layers=1,
        memory_fuser_intermediate_dim=64,
        num_maskmem=2,
    )
    thresholds = (
        dict(score_threshold_detection=0.0, new_det_thresh=0.0, hotstart_delay=0) if eager else {}
    )
    config = Sam3VideoConfig(
        detector_config=detector,
        tracker_config=tracker,
        low_res_mask_size=4 * tokens,
        **thresholds,
    )
    config.image_size = SAM3_INPUT  # propagates to the tracker's feature sizes
    Sam3VideoModel(config).eval().save_pretrained(folder)
    char_tokenizer().save_pretrained(folder)
    _preprocessor(folder, SAM3_INPUT, [0.5] * 3, [0.5] * 3)
    return folder


def char_tokenizer() -> Any:
    """A CLIP tokenizer over single letters: the hub's vocabulary is not reachable here,
    and the token ids only have to be valid for the text encoder's table."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[])


def _preprocessor(folder: Path, size: int, mean: list[float], std: list[float]) -> None:
    config = {
        "size": {"height": size, "width": size},
        "ensure_multiple_of": 14,
        "image_mean": mean,
        "image_std": std,
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(config))
