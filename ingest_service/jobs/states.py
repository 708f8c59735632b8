"""Job states and the only transitions between them."""

from __future__ import annotations

from enum import StrEnum

from ingest_service.errors import JobStateError


class JobState(StrEnum):
    CLAIMED = "claimed"
    RUNNING = "running"
    PUBLISHED = "published"
    FAILED = "failed"


class StageName(StrEnum):
    """The built-in stages, in the order they run."""

    PROBE = "probe"
    FRAMES = "frames"
    CAMERA = "camera"
    DEPTH = "depth"
    MASKS = "masks"


class StageStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"


# RUNNING → RUNNING is a lease takeover or renewal; FAILED → RUNNING is a retry.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.CLAIMED: frozenset({JobState.RUNNING, JobState.FAILED}),
    JobState.RUNNING: frozenset({JobState.RUNNING, JobState.PUBLISHED, JobState.FAILED}),
    JobState.FAILED: frozenset({JobState.RUNNING}),
    JobState.PUBLISHED: frozenset(),
}


def check_transition(current: JobState, target: JobState) -> None:
    if target not in TRANSITIONS[current]:
        raise JobStateError(f"a {current} job cannot become {target}", state=current)
