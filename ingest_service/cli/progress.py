"""Progress for people: a bar per stage on a terminal, plain lines in logs and pipes."""

from __future__ import annotations

import shutil
import time
from typing import TextIO

UNITS = {"B": 1024 * 1024}  # bytes are shown in MiB


class TerminalProgress:
    """Redraws one line per stage in place; leaves a summary line when the stage ends."""

    def __init__(self, stream: TextIO, job_label: str = "") -> None:
        self._out = stream
        self._label = job_label
        self._stage = ""
        self._total: int | None = None
        self._unit = ""
        self._done = 0
        self._t0 = 0.0
        self._drawn = 0.0

    def started(self, stage: str, total: int | None, unit: str) -> None:
        self._stage, self._total, self._unit, self._done = stage, total, unit, 0
        self._t0 = self._drawn = time.monotonic()
        self._draw()

    def advanced(self, n: int = 1) -> None:
        self._done += n
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self._draw()

    def finished(self, stage: str, status: str, duration_s: float, detail: str = "") -> None:
        self._out.write(f"\r\x1b[2K{stage:<8} {status} in {duration_s:.1f}s")
        self._out.write(f"  {detail}\n" if detail else "\n")
        self._out.flush()

    def _draw(self) -> None:
        scale = UNITS.get(self._unit, 1)
        unit = "MiB" if self._unit == "B" else self._unit
        rate = self._done / scale / max(time.monotonic() - self._t0, 1e-6)
        done = self._done / scale
        if self._total:
            width = max(10, min(40, shutil.get_terminal_size().columns - 50))
            filled = min(width, int(width * self._done / self._total))
            bar = "#" * filled + "." * (width - filled)
            text = f"[{bar}] {done:.0f}/{self._total / scale:.0f} {unit} {rate:.1f}/s"
        else:
            text = f"{done:.0f} {unit} {rate:.1f}/s"
        self._out.write(f"\r\x1b[2K{self._stage:<8} {text}")
        self._out.flush()


class LineProgress:
    """One line when a stage starts and one when it ends: readable in CI logs."""

    def __init__(self, stream: TextIO) -> None:
        self._out = stream

    def started(self, stage: str, total: int | None, unit: str) -> None:
        size = (
            f" ({total / UNITS.get(unit, 1):.0f} {'MiB' if unit == 'B' else unit})" if total else ""
        )
        self._out.write(f"{stage}: started{size}\n")
        self._out.flush()

    def advanced(self, n: int = 1) -> None:
        pass

    def finished(self, stage: str, status: str, duration_s: float, detail: str = "") -> None:
        extra = f": {detail}" if detail else ""
        self._out.write(f"{stage}: {status} in {duration_s:.1f}s{extra}\n")
        self._out.flush()
