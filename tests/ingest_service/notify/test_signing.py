from __future__ import annotations

import hashlib
import hmac

from ingest_service.notify.signing import sign, signed_headers, verify


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign(b"k", 1700000000, b"{}") == f"sha256={expected}"


def test_stale_or_future_timestamps_are_refused() -> None:
    headers = signed_headers(b"k", b"{}", now=1_000_000)
    assert verify(b"k", b"{}", headers, now=1_000_100)
    assert not verify(b"k", b"{}", headers, now=1_000_000 + 301)
    assert not verify(b"k", b"{}", headers, now=1_000_000 - 301)


def test_missing_or_malformed_headers_are_refused() -> None:
    assert not verify(b"k", b"{}", {})
    assert not verify(b"k", b"{}", {"X-Ingest-Timestamp": "soon", "X-Ingest-Signature": "x"})
