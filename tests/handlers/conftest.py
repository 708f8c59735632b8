from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.sns_signature import SnsVerifier
from ingest_service.services import Services
from storage import ObjectStore
from tests.conftest import make_settings
from tests.handlers.sns_keys import CertFetcher

TOKEN = "test-webhook-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}  # what S3 via EventBridge and MinIO send


class RecordingDispatcher:
    """Remembers what was dispatched instead of running it: the app must not run stages."""

    def __init__(self) -> None:
        self.submitted: list[str] = []
        self._lock = threading.Lock()

    def submit(self, job_id: str) -> bool:
        with self._lock:
            self.submitted.append(job_id)
        return True


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def fetcher() -> CertFetcher:
    return CertFetcher()


@pytest.fixture
def hook_services(store: ObjectStore, tmp_path: Path) -> Services:
    settings = make_settings(
        tmp_path, webhook_token=TOKEN, max_event_bytes=64 * 1024, settle_s=0, poll_interval_s=1
    )
    return Services.build(settings, store=store)


@pytest.fixture
def client(
    hook_services: Services, dispatcher: RecordingDispatcher, fetcher: CertFetcher
) -> TestClient:
    app = create_app(hook_services, dispatcher, verifier=SnsVerifier(fetch=fetcher), fetch=fetcher)
    return TestClient(app)
