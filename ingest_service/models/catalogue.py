"""The models the neural backends know, by the folder name they live under in models_dir.

Weights are read from that folder only; nothing asks the hub at run time. `download`
fills the folder from the hub once (on Modal, into the weights Volume).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest_service.errors import ModelUnavailableError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    repo_id: str
    kind: str  # "depth" or "masks"
    gated: bool = False  # the hub asks for an accepted licence and a token


CATALOGUE: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry("depth-anything-v2-small", "depth-anything/Depth-Anything-V2-Small-hf", "depth"),
        ModelEntry("depth-anything-v2-base", "depth-anything/Depth-Anything-V2-Base-hf", "depth"),
        ModelEntry("depth-anything-v2-large", "depth-anything/Depth-Anything-V2-Large-hf", "depth"),
        ModelEntry("sam3", "facebook/sam3", "masks", gated=True),
    )
}


def weights_dir(models_dir: Path, name: str) -> Path:
    """The folder holding a model's weights, or a clear error saying how to fill it."""
    path = models_dir / name
    if (path / "config.json").is_file():
        return path
    hint = (
        f"run `ingest-service models download {name}`"
        if name in CATALOGUE
        else "copy a transformers snapshot (config.json and weights) there"
    )
    raise ModelUnavailableError(
        f"no weights for model {name!r}: {path / 'config.json'} does not exist; {hint} "
        f"(INGEST_MODELS_DIR sets the folder)"
    )


def download(name: str, models_dir: Path, *, token: str | None = None) -> Path:
    """Snapshot a catalogued model from the hub into models_dir/name (idempotent)."""
    entry = CATALOGUE.get(name)
    if entry is None:
        raise ModelUnavailableError(f"unknown model {name!r}; known: {', '.join(CATALOGUE)}")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ModelUnavailableError(
            "downloading models needs huggingface_hub: pip install 'ingest-service[models]'"
        ) from exc
    target = models_dir / name
    snapshot_download(
        entry.repo_id,
        local_dir=target,
        token=token,
        allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"],
    )
    return target
