"""Depth Anything V2 through transformers: relative inverse depth for batches of frames.

Pre-processing runs on the model's device in torch (resize to the model's input size,
keeping the aspect ratio, a multiple of the patch size; normalise), so a GPU batch is
not held up by per-image CPU work, and no image-processor backend (torchvision, PIL) is
needed. The settings it uses come from the snapshot's preprocessor_config.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest_service.models.runtime import (
    Normalise,
    Runtime,
    loaded_once,
    model_input,
    preprocessor_config,
    pretrained,
    require_torch,
)

IMAGENET = Normalise(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Preprocess:
    size: int = 518  # the short side the model was trained at
    multiple: int = 14  # the ViT patch size
    normalise: Normalise = IMAGENET

    @classmethod
    def read(cls, folder: Path) -> Preprocess:
        raw = preprocessor_config(folder)
        size = raw.get("size", {})
        return cls(
            size=int(min(size.get("height", 518), size.get("width", 518))),
            multiple=int(raw.get("ensure_multiple_of", 14)),
            normalise=IMAGENET.of_snapshot(folder),
        )

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """The short side at `size`, the long side scaled with it; both rounded to the
        patch multiple (the model's own processor does the same)."""
        scale = self.size / min(height, width)

        def rounded(value: float) -> int:
            return max(self.multiple, round(value / self.multiple) * self.multiple)

        return rounded(height * scale), rounded(width * scale)


@dataclass(eq=False)
class DepthAnything:
    """A loaded model; `predict` maps RGB frames to relative inverse depth."""

    model: Any
    runtime: Runtime
    preprocess: Preprocess
    # Metric checkpoints predict depth, relative ones inverse depth; callers get
    # inverse depth either way, so alignment is the same for both.
    metric: bool

    @classmethod
    def load(cls, folder: Path, runtime: Runtime) -> DepthAnything:
        def build() -> DepthAnything:
            model = pretrained("DepthAnythingForDepthEstimation", folder, runtime)
            metric = getattr(model.config, "depth_estimation_type", "relative") == "metric"
            return cls(model, runtime, Preprocess.read(folder), metric)

        return loaded_once(("depth-anything", str(folder), runtime), build)

    def predict(self, frames: list[np.ndarray]) -> np.ndarray:
        """(N, h, w) float32 relative inverse depth at the model's input size, for N RGB
        uint8 frames of one size. Larger is nearer; the scale is unknown."""
        torch = require_torch()
        height, width = frames[0].shape[:2]
        h, w = self.preprocess.input_size(height, width)
        with torch.inference_mode():
            x = model_input(
                np.stack(frames),
                (h, w),
                mode="bicubic",
                normalise=self.preprocess.normalise,
                runtime=self.runtime,
            )
            predicted = self.model(pixel_values=x).predicted_depth.float()
            if self.metric:
                predicted = 1.0 / predicted.clamp(min=1e-6)
            out: np.ndarray = predicted.cpu().numpy()
        return out
