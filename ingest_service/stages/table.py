"""The stage table: the chain a job runs, in order.

masks join this table when they exist; until then asking for them is an error that
says so, never a placeholder result. A camera that cannot be solved fails
its stage only: the frames are still published.
"""

from __future__ import annotations

from ingest_service.errors import StageUnknownError
from ingest_service.stages import camera, depth, frames, probe
from ingest_service.stages.base import StageSpec

STAGES: tuple[StageSpec, ...] = (
    StageSpec("probe", probe.run),
    StageSpec("frames", frames.run, requires=("probe",)),
    StageSpec("camera", camera.run, requires=("frames",), critical=False),
    StageSpec("depth", depth.run, requires=("camera",), critical=False),
)
PLANNED = ("masks",)


def plan(requested: list[str]) -> list[StageSpec]:
    """The stages to run for a request, with what they need, in table order."""
    by_name = {spec.name: spec for spec in STAGES}
    wanted: set[str] = set()
    pending = list(requested)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(by_name)
            why = " (not available in this version)" if name in PLANNED else ""
            raise StageUnknownError(f"unknown stage {name!r}{why}; stages: {known}")
        wanted.add(name)
        pending.extend(spec.requires)
    return [spec for spec in STAGES if spec.name in wanted]
