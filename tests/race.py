"""Racing threads: every contender released at once; a contender's error fails the test."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def race(contenders: int, run: Callable[[int], T]) -> list[T]:
    """`run(0) … run(n-1)` on as many threads, started together; results in that order."""
    barrier = threading.Barrier(contenders)

    def start(n: int) -> T:
        barrier.wait()
        return run(n)

    with ThreadPoolExecutor(contenders) as pool:
        return list(pool.map(start, range(contenders)))
