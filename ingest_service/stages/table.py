"""The stage table: the chain a job runs, in order.

A camera, depth or masks that cannot be made fails its stage only: the frames (and
whatever else worked) are still published. Masks are asked for explicitly (they are
not in the default stages): the classical backend needs camera and depth, SAM 3 only
the frames.
"""

from __future__ import annotations

from ingest_service.jobs.options import JobOptions
from ingest_service.jobs.states import StageName
from ingest_service.stages import camera, depth, frames, masks, probe
from ingest_service.stages.base import StageSpec
from ingest_service.stages.order import needs, resolve

STAGES: tuple[StageSpec, ...] = (
    StageSpec(StageName.PROBE, probe.run),
    StageSpec(StageName.FRAMES, frames.run, requires=needs(StageName.FRAMES, None)),
    StageSpec(StageName.CAMERA, camera.run, requires=needs(StageName.CAMERA, None), critical=False),
    StageSpec(StageName.DEPTH, depth.run, requires=needs(StageName.DEPTH, None), critical=False),
    StageSpec(
        StageName.MASKS,
        masks.run,
        requires=needs(StageName.MASKS, None),
        critical=False,
        requires_for=lambda options: needs(StageName.MASKS, options),
    ),
)


def plan(requested: list[str], options: JobOptions | None = None) -> list[StageSpec]:
    """The stages to run for a request, with what they need, in table order."""
    by_name = {spec.name: spec for spec in STAGES}
    names = resolve(requested, list(by_name), lambda name: by_name[name].needs(options))
    return [by_name[name] for name in names]
