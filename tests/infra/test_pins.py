"""The images install what the tests ran with: one list of versions, constraints.txt."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import distribution, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra import pins
from tests.infra.declared import APP_FILE


@pytest.mark.parametrize("image", sorted(pins.IMAGES))
def test_image_pins_are_the_versions_the_tests_run_with(image: str) -> None:
    for pin in pins.pins(pins.IMAGES[image]):
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


def _with_dependencies(names: tuple[str, ...]) -> set[str]:
    """The distributions these install here, by their declared requirements (no extras)."""
    found: set[str] = set()
    todo = [pins.normalise(n) for n in names]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for line in distribution(name).requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(pins.normalise(requirement.name))
    return found


def _distributions_imported(statement: str, owners: dict[str, list[str]]) -> set[str]:
    code = f"{statement}\nimport sys\nprint(*{{m.split('.')[0] for m in sys.modules}})"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {pins.normalise(d) for m in run.stdout.split() for d in owners.get(m, [])}


def test_every_image_has_what_importing_the_app_needs() -> None:
    """Every container imports infra/modal_app.py (and what it imports) before any call."""
    owners = packages_distributions()
    imported = _distributions_imported("import infra.modal_app", owners)
    imported -= _distributions_imported("", owners)  # what the interpreter loads itself
    # Modal puts its client, with its dependencies, in every container; ours is the source.
    needed = imported - _with_dependencies(("modal",)) - {"ingest-service"}
    for image, names in pins.IMAGES.items():
        missing = needed - _with_dependencies(names)
        assert not missing, f"the {image} image lacks {sorted(missing)}"
