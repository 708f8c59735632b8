"""The Modal app's tests: a deployment's environment, against moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import S3Store


@pytest.fixture
def s3_env(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Store:
    """What a deployment's secrets set, for a moto bucket: the functions' settings."""
    monkeypatch.setenv("INGEST_STORE", f"s3://{s3_store.bucket}")
    monkeypatch.setenv("INGEST_STAGES", "probe,frames")
    monkeypatch.setenv("INGEST_NOTIFY_LOG", str(tmp_path / "notifications.jsonl"))
    monkeypatch.setenv("INGEST_WORKERS", "2")
    return s3_store
