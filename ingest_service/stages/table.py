"""The stage table: the chain a job runs, in order.

A camera, depth or masks that cannot be made fails its stage only: the frames (and
whatever else worked) are still published. Masks are asked for explicitly (they are
not in the default stages): the classical backend needs camera and depth, SAM 3 only
the frames.
"""

from __future__ import annotations

from ingest_service.errors import StageUnknownError
from ingest_service.job_record import JobOptions
from ingest_service.stages import camera, depth, frames, masks, probe
from ingest_service.stages.base import StageSpec

STAGES: tuple[StageSpec, ...] = (
    StageSpec("probe", probe.run),
    StageSpec("frames", frames.run, requires=("probe",)),
    StageSpec("camera", camera.run, requires=("frames",), critical=False),
    StageSpec("depth", depth.run, requires=("camera",), critical=False),
    StageSpec(
        "masks",
        masks.run,
        requires=("frames", "camera", "depth"),
        critical=False,
        requires_for=lambda options: masks.needs(options.masks_backend),
    ),
)


def plan(requested: list[str], options: JobOptions | None = None) -> list[StageSpec]:
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
            raise StageUnknownError(f"unknown stage {name!r}; stages: {known}")
        wanted.add(name)
        pending.extend(spec.needs(options))
    return [spec for spec in STAGES if spec.name in wanted]
