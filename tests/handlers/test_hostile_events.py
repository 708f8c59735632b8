"""Hostile or broken event bodies: a clear 4xx, or a per-record reason; never a 5xx.

S3 (through SNS), SNS and EventBridge deliver again on a 5xx (EventBridge on 401, 409 and
429 too), so an answer that asks for a retry must mean "the bucket is down", never "your
input is bad".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from ingest_service.services import Services
from storage import InvalidKeyError, LocalStore, ObjectStore
from tests.conftest import make_settings
from tests.handlers.conftest import JSON, TOKEN, RecordingDispatcher
from tests.handlers.events.test_parse import event


@pytest.fixture
def store(local_store: LocalStore) -> ObjectStore:
    """Refusals happen before the store is touched: the folder store is enough, and one
    test below checks the same on S3."""
    return local_store


def _records(services: Services, *keys: str) -> dict[str, Any]:
    """An S3 notification with one record per key (keys as S3 would form-encode them)."""
    doc = event("s3_put.json")
    template = doc["Records"][0]
    doc["Records"] = []
    for i, key in enumerate(keys):
        record = json.loads(json.dumps(template))
        record["s3"]["bucket"]["name"] = services.store.bucket
        record["s3"]["object"].update(key=key, eTag=f"{i:032x}", sequencer=f"00{i:016X}")
        doc["Records"].append(record)
    return doc


def _eventbridge(services: Services, key: str) -> bytes:
    doc = event("eventbridge_object_created.json")
    doc["detail"]["bucket"]["name"] = services.store.bucket
    doc["detail"]["object"]["key"] = key
    return json.dumps(doc).encode()


def _post(client: TestClient, body: bytes) -> Any:
    return client.post("/events", content=body, headers=JSON)


@pytest.mark.parametrize("depth", [1_000, 30_000])
def test_deeply_nested_json_is_400(client: TestClient, depth: int) -> None:
    body = b'{"Records": ' + b"[" * depth + b"]" * depth + b"}"
    response = _post(client, body)
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.parametrize("field", ["key", "bucket", "eTag"])
def test_lone_surrogate_is_400(client: TestClient, hook_services: Services, field: str) -> None:
    doc = _records(hook_services, "incoming/sh0010.mov")
    s3 = doc["Records"][0]["s3"]
    if field == "bucket":
        s3["bucket"]["name"] = "plates\ud800"
    else:
        s3["object"][field] = "incoming/sh\ud800.mov" if field == "key" else "abc\ud800"
    response = _post(client, json.dumps(doc).encode())  # json.dumps escapes it as \ud800
    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]
    assert list(hook_services.ledger.ids()) == []


def test_lone_surrogate_in_an_eventbridge_key_is_400(
    client: TestClient, hook_services: Services
) -> None:
    assert _post(client, _eventbridge(hook_services, "incoming/\udfff.mov")).status_code == 400


# Each as S3 would send it (form-encoded), and why the service refuses it.
UNSAFE_KEYS = [
    ("incoming/a/../sh0010.mov", "'..' segment"),
    ("incoming/a//sh0010.mov", "empty"),
    ("incoming/./sh0010.mov", "'.'"),
    ("incoming/sh%00.mov", "NUL"),
    ("incoming/a%5Csh0010.mov", "backslash"),
    ("incoming/" + "a" * 1100 + ".mov", "longer than 1024 bytes"),
    ("incoming/" + "é" * 130 + ".mov", "segment longer than 255 bytes"),
    ("incoming/" + "b" * 250 + ".mov", "segment longer than 255 bytes"),  # its sidecar's name
]


@pytest.mark.parametrize(("key", "why"), UNSAFE_KEYS)
def test_unsafe_keys_are_refused_per_record_and_the_rest_are_claimed(
    client: TestClient,
    hook_services: Services,
    dispatcher: RecordingDispatcher,
    key: str,
    why: str,
) -> None:
    response = _post(client, json.dumps(_records(hook_services, key, "incoming/ok.mov")).encode())
    assert response.status_code == 200, response.text
    body = response.json()
    [refused] = body["ignored"]
    assert refused["reason"].startswith("key refused:")
    assert why in refused["reason"]
    assert [item["key"] for item in body["claimed"]] == ["incoming/ok.mov"]
    assert len(dispatcher.submitted) == 1
    # Nothing was written for the refused key: not even its event-order record.
    seen = [
        json.loads(hook_services.store.get(info.key).data)["key"]
        for info in hook_services.store.list(".ingest/keys/")
    ]
    assert seen == ["incoming/ok.mov"]


def test_unsafe_keys_are_refused_on_s3_too(s3_store: ObjectStore, tmp_path: Path) -> None:
    services = Services.build(
        make_settings(tmp_path, webhook_token=TOKEN, settle_s=0), store=s3_store
    )
    client = TestClient(create_app(services, RecordingDispatcher()))
    doc = _records(services, *(key for key, _ in UNSAFE_KEYS), "incoming/ok.mov")
    response = _post(client, json.dumps(doc).encode())
    assert response.status_code == 200
    body = response.json()
    assert len(body["ignored"]) == len(UNSAFE_KEYS)
    assert all(item["reason"].startswith("key refused:") for item in body["ignored"])
    assert [item["key"] for item in body["claimed"]] == ["incoming/ok.mov"]


def test_unsafe_eventbridge_key_is_refused_with_200(
    client: TestClient, hook_services: Services
) -> None:
    response = _post(client, _eventbridge(hook_services, "incoming/../../etc/sh0010.mov"))
    assert response.status_code == 200
    assert response.json()["ignored"][0]["reason"].startswith("key refused:")
    assert list(hook_services.ledger.ids()) == []


def test_a_key_the_store_refuses_later_is_400_never_503(
    client: TestClient, hook_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever key a claim derives, a store's refusal of it is bad input, not an outage."""

    def refuse(key: str, **kwargs: object) -> None:
        raise InvalidKeyError("key has an empty, '.' or '..' segment", key=key)

    monkeypatch.setattr(hook_services.store, "get", refuse)
    response = _post(client, json.dumps(_records(hook_services, "incoming/sh0010.mov")).encode())
    assert response.status_code == 400
    assert response.json()["detail"].startswith("key refused:")
