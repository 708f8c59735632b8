"""A Modal call that runs past its time limit, as the domain's final failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import modal

from ingest_service.errors import StageTimeoutError


@contextmanager
def timeouts_are_final(stage: str, limit_s: float) -> Iterator[None]:
    """A call that ran past its time limit becomes a final, recorded failure: the same work
    run again would most likely run past it again (and bill for it again)."""
    try:
        yield
    except modal.exception.TimeoutError as exc:
        raise StageTimeoutError(
            f"stage {stage} ran past its time limit of {limit_s / 3600:g} h on Modal "
            f"({type(exc).__name__}); not retried, for a re-run would most likely do the same",
            stage=stage,
            limit_s=limit_s,
        ) from exc
