"""The images' package pins, read from constraints.txt: the versions the tests run with.

Each image names the packages it needs; the versions come from that one file, so an image
cannot drift from what was tested. A local version label (`torch==2.13.0+cpu`, the CPU
build the tests install) is dropped: an image takes PyPI's default build of that release
(for torch, the CUDA one).
"""

from __future__ import annotations

import re
from pathlib import Path

# Beside our packages: the repository root here, /root in a Modal container.
CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"

# What each image installs, by name; transitive dependencies that change behaviour
# (pydantic-core, starlette, s3transfer, tokenizers) are named too.
WEB = (
    "fastapi", "starlette", "pydantic", "pydantic-core", "pydantic-settings", "boto3",
    "botocore", "s3transfer", "httpx", "cryptography",
)  # fmt: skip
MEDIA = (
    "av", "opencv-python-headless", "openexr", "numpy", "imageio-ffmpeg", "pycolmap", "usd-core",
)  # fmt: skip
MODELS = ("torch", "transformers", "tokenizers", "safetensors", "huggingface-hub")
DOWNLOAD = ("huggingface-hub",)
# Each image is the web image plus what it adds (see infra/modal_app.py).
IMAGES = {
    "web": WEB,
    "media": WEB + MEDIA,
    "gpu": WEB + MEDIA + MODELS,
    "download": WEB + DOWNLOAD,
}


def normalise(name: str) -> str:
    """A distribution's name as PyPI compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints(path: Path = CONSTRAINTS) -> dict[str, str]:
    """{normalised name: exact version} from a pip constraints file."""
    versions = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            versions[normalise(name)] = version.strip()
    return versions


def pins(names: tuple[str, ...], path: Path = CONSTRAINTS) -> list[str]:
    """`name==version` for each package, its version from the constraints file."""
    versions = read_constraints(path)
    missing = [n for n in names if normalise(n) not in versions]
    if missing:
        raise KeyError(f"{path.name} pins no version of {', '.join(missing)}")
    return [f"{n}=={versions[normalise(n)].split('+', 1)[0]}" for n in names]
