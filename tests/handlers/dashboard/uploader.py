"""The dashboard's app on a given store, and a browser's upload through it, for the API tests."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from handlers.app import create_app
from ingest_service.services import Services
from storage import ObjectStore
from tests.conftest import make_settings
from tests.handlers.conftest import TOKEN, RecordingDispatcher

BASIC = {"Authorization": "Basic " + base64.b64encode(f"artist:{TOKEN}".encode()).decode()}
MIB = 1024 * 1024


def services_on(tmp_path: Path, store: ObjectStore, **settings: object) -> Services:
    return Services.build(make_settings(tmp_path, webhook_token=TOKEN, **settings), store=store)


class Browser:
    """What the upload page does: ask, PUT each part to its URL, complete."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.dispatcher = RecordingDispatcher()
        self.client = TestClient(create_app(services, self.dispatcher))

    def start(self, name: str, size: int, **extra: Any) -> httpx.Response:
        body = {"name": name, "size": size, **extra}
        return self.client.post("/api/uploads", headers=BASIC, json=body)

    def put(self, url: str, data: bytes) -> httpx.Response:
        """A part URL: the app's own (a folder bucket) or presigned S3 (over real HTTP)."""
        if url.startswith("/"):
            return self.client.put(url, content=data)
        return httpx.put(url, content=data)

    def send_parts(self, ticket: dict[str, Any], data: bytes) -> list[str]:
        size = ticket["part_size"]
        etags = []
        for n, url in enumerate(ticket["part_urls"]):
            response = self.put(url, data[n * size : (n + 1) * size])
            assert response.status_code == 200, response.text
            etags.append(response.headers["etag"])
        return etags

    def complete(
        self, upload_id: str, key: str, etags: list[str], options: dict[str, Any] | None = None
    ) -> httpx.Response:
        parts = [{"number": i + 1, "etag": e} for i, e in enumerate(etags)]
        body: dict[str, Any] = {"key": key, "parts": parts}
        if options is not None:
            body["options"] = options
        return self.client.post(f"/api/uploads/{upload_id}/complete", headers=BASIC, json=body)

    def upload(self, name: str, data: bytes, **extra: Any) -> httpx.Response:
        ticket = self.start(name, len(data), **extra).json()
        etags = self.send_parts(ticket, data)
        return self.complete(ticket["upload_id"], ticket["key"], etags, extra.get("options"))

    def stored(self) -> list[str]:
        """Every key in the bucket."""
        return [info.key for info in self.services.store.list()]
