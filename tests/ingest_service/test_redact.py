from __future__ import annotations

from ingest_service.redact import redact


def test_credentials_are_scrubbed() -> None:
    text = (
        "GET https://admin:hunter2@minio.local/x?X-Amz-Signature=abcd&X-Amz-Credential=AKIA/x "
        "key AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI token: s3cr3t"
    )
    out = redact(text)
    for secret in ("hunter2", "abcd", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "s3cr3t"):
        assert secret not in out
    assert "minio.local/x" in out


def test_ordinary_messages_are_untouched() -> None:
    message = "incoming/sh0040.mov is not a readable video file"
    assert redact(message) == message
