"""Where a model runs: the device, its dtype, and the loaded-once cache.

torch and transformers are imported only here and in the model modules, and only when a
neural backend is asked for: the classical backends and the web app never load them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

import numpy as np

from ingest_service.errors import ModelUnavailableError

T = TypeVar("T")


def require_torch() -> ModuleType:
    try:
        import torch
        import transformers  # noqa: F401 - checked here so the error names both
    except ImportError as exc:
        raise ModelUnavailableError(
            "the neural backends need torch and transformers: pip install 'ingest-service[models]'"
        ) from exc
    return torch


@dataclass(frozen=True)
class Runtime:
    device: str  # "cpu" or "cuda"
    dtype_name: str  # half precision on a GPU, float32 on the CPU
    device_name: str  # what the cost table is matched against

    @property
    def dtype(self) -> Any:
        return getattr(require_torch(), self.dtype_name)


def pick_runtime(preference: Literal["auto", "cpu", "cuda"], *, half: str = "float16") -> Runtime:
    torch = require_torch()
    has_cuda = bool(torch.cuda.is_available())
    if preference == "cuda" and not has_cuda:
        raise ModelUnavailableError("INGEST_MODEL_DEVICE=cuda, but no CUDA device is visible")
    if preference != "cpu" and has_cuda:
        return Runtime("cuda", half, str(torch.cuda.get_device_name(0)))
    return Runtime("cpu", "float32", "cpu")


def pretrained(class_name: str, folder: Path, runtime: Runtime) -> Any:
    """A snapshot's weights from `folder` (never the hub) into transformers' `class_name`,
    on the runtime's device, in its dtype, ready for inference."""
    require_torch()
    import transformers

    model_class = getattr(transformers, class_name)
    model = model_class.from_pretrained(folder, dtype=runtime.dtype, local_files_only=True)
    return model.to(runtime.device).eval()


@dataclass(frozen=True)
class Normalise:
    """Per-channel mean and std of RGB in [0, 1], as a checkpoint was trained with."""

    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def of_snapshot(self, folder: Path) -> Normalise:
        """The snapshot's own values (its preprocessor_config.json) where it gives them."""
        raw = preprocessor_config(folder)
        return Normalise(
            tuple(raw.get("image_mean", self.mean)), tuple(raw.get("image_std", self.std))
        )


def model_input(
    frames: np.ndarray,
    size: tuple[int, int],
    *,
    mode: str,
    normalise: Normalise,
    runtime: Runtime,
) -> Any:
    """(N, 3, *size) model input from (N, h, w, 3) uint8 RGB frames, resized and normalised
    on the runtime's device: what a model's image processor does on the CPU, without
    torchvision, and without holding a GPU batch up on per-image CPU work."""
    torch = require_torch()
    pixels = torch.from_numpy(frames).to(runtime.device).permute(0, 3, 1, 2).float() / 255.0
    resized = torch.nn.functional.interpolate(
        pixels, size=size, mode=mode, align_corners=False, antialias=True
    )
    mean = torch.tensor(normalise.mean, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(normalise.std, device=pixels.device).view(1, 3, 1, 1)
    return ((resized - mean) / std).to(runtime.dtype)


def preprocessor_config(folder: Path) -> dict[str, Any]:
    """The snapshot's preprocessor_config.json (sizes, mean, std), or {} without one."""
    path = folder / "preprocessor_config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


_cache: dict[tuple[object, ...], object] = {}
_cache_lock = threading.Lock()


def loaded_once(key: tuple[object, ...], load: Callable[[], T]) -> T:
    """One instance per (model, folder, runtime) per process: a warm container (or a
    worker running job after job) pays for loading the weights once."""
    with _cache_lock:
        if key not in _cache:
            _cache[key] = load()
        return _cache[key]  # type: ignore[return-value]


def forget_loaded() -> None:
    with _cache_lock:
        _cache.clear()
