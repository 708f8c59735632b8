"""POST /events for every format: claims once, answers fast, refuses what it should."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest_service.jobs.states import JobState
from ingest_service.services import Services
from tests.handlers.conftest import AUTH, JSON, TOKEN, RecordingDispatcher
from tests.handlers.events.test_parse import event
from tests.handlers.sns_keys import CertFetcher, notification, subscription_confirmation


def _s3_event(
    services: Services,
    key: str,
    *,
    etag: str = "9b2cf535f27731c974343645a3985328",
    sequencer: str = "0065A1B2C3D4E5F601",
    name: str = "ObjectCreated:Put",
) -> dict[str, Any]:
    doc = event("s3_put.json")
    obj = doc["Records"][0]["s3"]
    obj["bucket"]["name"] = services.store.bucket
    obj["object"].update(key=key, eTag=etag, sequencer=sequencer)
    doc["Records"][0]["eventName"] = name
    return doc


def _post(client: TestClient, doc: dict[str, Any] | bytes, **headers: str) -> Any:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return client.post("/events", content=body, headers={**JSON, **headers})


def test_s3_event_claims_one_job_and_dispatches_it(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    response = _post(client, _s3_event(hook_services, "incoming/show/sh0040+plate.mov"))
    assert response.status_code == 200
    body = response.json()
    [claimed] = body["claimed"]
    assert claimed["key"] == "incoming/show/sh0040 plate.mov"
    assert dispatcher.submitted == [claimed["job_id"]]
    record = hook_services.ledger.get(claimed["job_id"])
    assert record.state is JobState.CLAIMED  # claimed and dispatched, never run in the request
    assert record.source.version_id == "3HL4kqtJvjVBH40Nrjfkd"


def test_duplicate_deliveries_never_make_a_second_job(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    doc = _s3_event(hook_services, "incoming/sh0040.mov")
    first = _post(client, doc).json()
    again = _post(client, doc).json()
    assert len(first["claimed"]) == 1
    assert again["claimed"] == []
    assert again["duplicates"][0]["job_id"] == first["claimed"][0]["job_id"]
    assert len(dispatcher.submitted) == 1
    assert len(list(hook_services.ledger.ids())) == 1


def test_out_of_order_older_event_is_ignored(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    newer = _s3_event(
        hook_services, "incoming/sh.mov", etag="b" * 32, sequencer="0065A1B2C3D4E5F7A2"
    )
    older = _s3_event(
        hook_services, "incoming/sh.mov", etag="a" * 32, sequencer="0065A1B2C3D4E5F601"
    )
    assert len(_post(client, newer).json()["claimed"]) == 1
    body = _post(client, older).json()
    assert body["claimed"] == []
    assert body["ignored"][0]["reason"] == "older than an event already seen for this key"
    assert len(dispatcher.submitted) == 1


def test_other_objects_are_ignored_with_reasons(
    client: TestClient, hook_services: Services
) -> None:
    doc = _s3_event(hook_services, "incoming/notes.txt")
    records = doc["Records"]
    for key, name in [
        ("published/sh/v001/frames/frame.0001.png", "ObjectCreated:Put"),
        ("incoming/sh.mov", "ObjectRemoved:Delete"),
        ("incoming/sh.mov.partial", "ObjectCreated:Put"),
    ]:
        extra = json.loads(json.dumps(records[0]))
        extra["s3"]["object"]["key"] = key
        extra["eventName"] = name
        records.append(extra)
    body = _post(client, doc).json()
    reasons = {item["key"]: item["reason"] for item in body["ignored"]}
    assert reasons == {
        "incoming/notes.txt": "not a footage file (.txt)",
        "published/sh/v001/frames/frame.0001.png": "outside the watched prefix incoming/",
        "incoming/sh.mov": "not a create event (ObjectRemoved:Delete)",
        "incoming/sh.mov.partial": "a temporary, partial or system file",
    }
    assert body["claimed"] == []


def test_eventbridge_and_minio_deliveries(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    eb = event("eventbridge_object_created.json")
    eb["detail"]["bucket"]["name"] = hook_services.store.bucket
    assert (
        _post(client, eb).json()["claimed"][0]["key"]
        == "incoming/show_abc/sq010/sh0050 plate v1.mov"
    )
    minio = event("minio_webhook_put.json")
    minio["Records"][0]["s3"]["bucket"]["name"] = hook_services.store.bucket
    assert _post(client, minio).json()["claimed"][0]["key"] == "incoming/sh0060_plate.mp4"
    assert len(dispatcher.submitted) == 2


def test_events_for_another_bucket_are_ignored(client: TestClient) -> None:
    body = _post(client, event("s3_put.json")).json()  # bucket "studio-plates"
    assert "is not watched here" in body["ignored"][0]["reason"]


def test_s3_test_event_is_acknowledged(client: TestClient) -> None:
    response = _post(client, event("s3_test_event.json"))
    assert response.status_code == 200
    assert "s3:TestEvent acknowledged" in response.json()["note"]


def test_signed_sns_notification_claims(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    doc = notification(_s3_event(hook_services, "incoming/sns+plate.mov"))
    response = _post(
        client,
        doc,
        **{"x-amz-sns-message-type": "Notification", "content-type": "text/plain; charset=UTF-8"},
    )
    assert response.status_code == 200
    assert response.json()["claimed"][0]["key"] == "incoming/sns plate.mov"


def test_forged_sns_notification_is_403_and_claims_nothing(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    doc = notification(_s3_event(hook_services, "incoming/a.mov"))
    doc["Message"] = json.dumps(_s3_event(hook_services, "incoming/forged.mov"))
    response = _post(client, doc)
    assert response.status_code == 403
    assert "signature does not match" in response.json()["detail"]
    assert dispatcher.submitted == []
    assert list(hook_services.ledger.ids()) == []


def test_subscription_is_confirmed_after_verification(
    client: TestClient, fetcher: CertFetcher
) -> None:
    doc = subscription_confirmation()
    response = _post(client, doc, **{"x-amz-sns-message-type": "SubscriptionConfirmation"})
    assert response.status_code == 200
    assert "confirmed" in response.json()["note"]
    assert fetcher.urls[-1] == doc["SubscribeURL"]


def test_sample_sns_payloads_with_fake_signatures_are_refused(
    client: TestClient, fetcher: CertFetcher
) -> None:
    for name in ("sns_notification_s3_put.json", "sns_subscription_confirmation.json"):
        assert _post(client, event(name)).status_code == 403
    assert not any("ConfirmSubscription" in url for url in fetcher.urls)


def test_auth_statuses(client: TestClient) -> None:
    body = json.dumps(event("s3_test_event.json")).encode()
    typed = {"Content-Type": "application/json"}
    assert client.post("/events", content=body, headers=typed).status_code == 401
    wrong = {**typed, "Authorization": "Bearer nope"}
    assert client.post("/events", content=body, headers=wrong).status_code == 401
    basic = base64.b64encode(f"sns:{TOKEN}".encode()).decode()
    sns = {**typed, "Authorization": f"Basic {basic}"}
    assert client.post("/events", content=body, headers=sns).status_code == 200
    assert client.head("/events", headers=AUTH).status_code == 200
    assert client.head("/events").status_code == 401
    assert client.get("/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{not json", 400, "not JSON"),
        (b'{"what": "ever"}', 400, "unrecognised event"),
        (b'{"Records": "nope"}', 400, "not a valid S3 event notification"),
        (b"x" * (64 * 1024 + 1), 413, "body over"),
    ],
)
def test_bad_bodies(client: TestClient, body: bytes, status: int, detail: str) -> None:
    response = _post(client, body)
    assert response.status_code == status
    assert detail in response.json()["detail"]


def test_late_sidecar_event_amends_the_claimed_job(
    client: TestClient, hook_services: Services
) -> None:
    hook_services.store.put("incoming/sh.mov", b"plate bytes")
    info = hook_services.store.head("incoming/sh.mov")
    plate = _post(client, _s3_event(hook_services, "incoming/sh.mov", etag=info.etag)).json()
    hook_services.store.put("incoming/sh.mov.json", b'{"shot": "sq010/sh0040"}')
    body = _post(client, _s3_event(hook_services, "incoming/sh.mov.json", etag="c" * 32)).json()
    assert body["sidecars"] == [
        {
            "key": "incoming/sh.mov.json",
            "job_id": None,
            "state": None,
            "reason": "applied to the plate's job",
        }
    ]
    job = hook_services.ledger.get(plate["claimed"][0]["job_id"])
    assert job.options.shot == "sq010/sh0040"


def test_bucket_outage_answers_503_so_the_sender_retries(
    client: TestClient, hook_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import TransientStorageError

    def down(*args: object, **kwargs: object) -> None:
        raise TransientStorageError("S3 put failed: SlowDown")

    monkeypatch.setattr(hook_services.store, "put", down)
    response = _post(client, _s3_event(hook_services, "incoming/sh.mov"))
    assert response.status_code == 503
    assert "bucket unavailable" in response.json()["detail"]


def test_confirmation_fetch_failure_answers_503(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    import httpx

    from handlers.app import create_app
    from handlers.sns_signature import SnsVerifier

    certs = CertFetcher()

    def fetch(url: str) -> bytes:
        if url.endswith(".pem"):
            return certs(url)
        raise httpx.ConnectError("sns unreachable")

    app = create_app(hook_services, dispatcher, verifier=SnsVerifier(fetch=fetch), fetch=fetch)
    response = _post(TestClient(app), subscription_confirmation())
    assert response.status_code == 503
    assert "could not confirm" in response.json()["detail"]


def test_the_web_app_imports_no_media_stack() -> None:
    """The webhook's image (and its cold start) must not need PyAV, OpenCV or COLMAP."""
    import subprocess
    import sys

    code = (
        "import sys, handlers.app; "
        "print(sorted(m for m in ('av', 'cv2', 'pycolmap', 'numpy', 'torch', 'pxr', 'OpenEXR')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_metrics_count_jobs_and_stage_durations(
    client: TestClient, hook_services: Services
) -> None:
    from ingest_service.metrics import METRICS

    METRICS.stage_finished("frames", "done", 12.5)
    METRICS.job_finished("published")
    _post(client, _s3_event(hook_services, "incoming/waiting.mov"))  # claimed, not yet run
    assert client.get("/metrics").status_code == 401
    text = client.get("/metrics", headers=AUTH).text
    assert 'ingest_stage_duration_seconds_bucket{stage="frames",le="15"}' in text
    assert 'ingest_stage_runs_total{stage="frames",status="done"}' in text
    assert 'ingest_jobs_total{state="published"}' in text
    assert "ingest_jobs_unfinished 1" in text
