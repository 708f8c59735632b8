"""How stages report progress; the CLI draws it, services log it, tests ignore it."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def started(self, stage: str, total: int | None, unit: str) -> None: ...

    def advanced(self, n: int = 1) -> None: ...

    def finished(self, stage: str, status: str, duration_s: float, detail: str = "") -> None: ...


class NullProgress:
    def started(self, stage: str, total: int | None, unit: str) -> None:
        pass

    def advanced(self, n: int = 1) -> None:
        pass

    def finished(self, stage: str, status: str, duration_s: float, detail: str = "") -> None:
        pass
