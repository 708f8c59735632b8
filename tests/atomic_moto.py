"""moto answering one S3 request at a time, for tests that race requests over it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import pytest
from moto.s3.responses import S3Response

# Where moto handles a request for an object, and for a bucket (listings).
HANDLERS = ("key_response", "bucket_response")


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 decides each conditional write atomically and reads whole versions. moto checks
    a condition and then writes, so two threads can both pass the check, and a read can
    meet an object that an overwrite is disposing of ("I/O operation on closed file").
    One lock around its request handling makes it behave as S3 does; the racing stays in
    our code, between requests."""
    lock = threading.RLock()

    def serialised(handler: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(handler)
        def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return handler(*args, **kwargs)

        return one_at_a_time

    for name in HANDLERS:
        monkeypatch.setattr(S3Response, name, serialised(getattr(S3Response, name)))
