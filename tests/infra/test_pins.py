"""The images install what the tests ran with: one list of versions, constraints.txt."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from infra import pins
from tests.infra.declared import APP_FILE

IMAGES = {"web": pins.WEB, "media": pins.MEDIA, "models": pins.MODELS, "download": pins.DOWNLOAD}


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_pins_are_the_versions_the_tests_run_with(image: str) -> None:
    for pin in pins.pins(IMAGES[image]):
        name, _, pinned = pin.partition("==")
        installed = version(name)
        # The tests run torch's CPU build (2.13.0+cpu); the image takes the same release.
        assert installed.split("+", 1)[0] == pinned, f"{image}: {pin}, tests have {installed}"


def test_pins_come_from_the_constraints_file(tmp_path: Path) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# a comment\nTorch==2.13.0+cpu\npydantic_core==2.46.4\n")
    assert pins.pins(("torch", "pydantic-core"), constraints) == [
        "torch==2.13.0",
        "pydantic-core==2.46.4",
    ]
    with pytest.raises(KeyError, match="no version of numpy"):
        pins.pins(("numpy",), constraints)


def test_the_app_spells_no_version_of_its_own() -> None:
    assert re.findall(r"""["'][\w.-]+(?:==|>=|~=)\d""", APP_FILE.read_text()) == []
