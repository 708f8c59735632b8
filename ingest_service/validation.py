"""Pydantic validation errors in one line a person can act on."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError, *, limit: int | None = None, root: str = "document") -> str:
    """`field.path: message; …` for the first `limit` problems (all when None); a problem
    with the whole input is named `root`."""
    problems = exc.errors()[:limit]
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or root}: {e['msg']}" for e in problems)
