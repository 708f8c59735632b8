"""moto with S3's atomic conditional writes, for tests that race them over moto."""

from __future__ import annotations

import threading
from functools import wraps
from typing import Any

import pytest
from moto.s3.responses import S3Response


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto checks a PUT's condition and then writes, so two threads can both pass the
    check; S3 decides each conditional write atomically, and so does moto here."""
    put = S3Response.put_object
    lock = threading.Lock()

    @wraps(put)
    def atomic(self: S3Response) -> Any:
        with lock:
            return put(self)

    monkeypatch.setattr(S3Response, "put_object", atomic)
