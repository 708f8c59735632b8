"""Which stages a request runs, in what order, without loading any stage's code.

The web app shows every job's planned stages; it must not import the media stack the
stages themselves need, so the requirements live here and the stage table uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ingest_service.errors import StageUnknownError
from ingest_service.jobs.options import JobOptions, MasksBackend
from ingest_service.jobs.states import StageName

ORDER = tuple(StageName)
_NEEDS: dict[StageName, tuple[StageName, ...]] = {
    StageName.PROBE: (),
    StageName.FRAMES: (StageName.PROBE,),
    StageName.CAMERA: (StageName.FRAMES,),
    StageName.DEPTH: (StageName.CAMERA,),
    StageName.MASKS: (StageName.FRAMES, StageName.CAMERA, StageName.DEPTH),
}


def needs(name: StageName, options: JobOptions | None) -> tuple[StageName, ...]:
    """What a built-in stage reads; masks depend on their backend (SAM 3: frames only)."""
    sam3 = options is not None and options.masks_backend is MasksBackend.SAM3
    if name is StageName.MASKS and sam3:
        return (StageName.FRAMES,)
    return _NEEDS[name]


def resolve(
    requested: Sequence[str], order: Sequence[str], needs_of: Callable[[str], tuple[str, ...]]
) -> list[str]:
    """The requested stages and everything they need, in `order`."""
    wanted: set[str] = set()
    pending = list(requested)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        if name not in order:
            raise StageUnknownError(f"unknown stage {name!r}; stages: {', '.join(order)}")
        wanted.add(name)
        pending.extend(needs_of(name))
    return [name for name in order if name in wanted]


def planned(requested: Sequence[str], options: JobOptions | None = None) -> list[str]:
    return resolve(requested, ORDER, lambda name: needs(StageName(name), options))
