"""The dashboard's API: auth, job lists and pages, signed links, retry, uploads."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from handlers.app import create_app
from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.record import ErrorInfo
from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.run import pipeline
from ingest_service.run.intake import claim_plate
from ingest_service.services import Services
from storage import LocalStore, S3Store
from tests.conftest import make_settings
from tests.handlers.conftest import TOKEN, RecordingDispatcher
from tests.handlers.dashboard.verdicts import FEW_TRACKS, WEAK_FOCAL, solved
from tests.plates import Plates

BASIC = {"Authorization": "Basic " + base64.b64encode(f"artist:{TOKEN}".encode()).decode()}
MIB = 1024 * 1024


def _services(tmp_path: Path, store: object, **settings: object) -> Services:
    return Services.build(make_settings(tmp_path, webhook_token=TOKEN, **settings), store=store)  # type: ignore[arg-type]


@pytest.fixture
def local(tmp_path: Path) -> tuple[TestClient, Services, RecordingDispatcher]:
    services = _services(tmp_path, LocalStore(tmp_path / "bucket"))
    dispatcher = RecordingDispatcher()
    return TestClient(create_app(services, dispatcher)), services, dispatcher


def test_the_page_and_api_ask_for_the_token_as_basic_auth(local) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = local
    for path in ("/ui/", "/api/jobs", "/api/stream"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="ingest-service"'
    page = client.get("/ui/", headers=BASIC)
    assert page.status_code == 200 and 'src="/ui/static/app.js"' in page.text
    # The page's own scripts hold no secrets and need no credentials.
    assert client.get("/ui/static/app.js").status_code == 200
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"


def test_the_upload_form_starts_from_the_services_defaults(local) -> None:  # type: ignore[no-untyped-def]
    client, services, _ = local
    defaults = client.get("/api/defaults", headers=BASIC).json()
    assert defaults == {
        "stages": ["probe", "frames"],
        "mask_prompts": ["person"],
        "incoming_prefix": "incoming/",
    }


def test_a_plate_uploaded_in_parts_is_claimed_with_its_options(local, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, services, dispatcher = local
    data = bytes(range(256)) * (36 * 1024 + 7)  # 9 MiB and a bit: two parts
    ticket = client.post(
        "/api/uploads",
        headers=BASIC,
        json={
            "name": "C:\\\\shoot\\\\A001_C002.MOV",
            "size": len(data),
            "content_type": "video/quicktime",
            "options": {"shot": "sq010/sh0020", "mask_prompts": ["person", "dog"], "stages": []},
        },
    ).json()
    assert ticket["key"] == "incoming/A001_C002.MOV"
    assert ticket["part_size"] == 8 * MIB and len(ticket["part_urls"]) == 2
    assert list(services.store.list("incoming/")) == []  # nothing until it completes
    etags = []
    for n, url in enumerate(ticket["part_urls"]):
        part = data[n * ticket["part_size"] : (n + 1) * ticket["part_size"]]
        response = client.put(url, content=part)  # no credentials: the URL is signed
        assert response.status_code == 200
        etags.append(response.headers["etag"])
    # A failed part is sent again on its own; the other part stays.
    assert client.put(ticket["part_urls"][1], content=data[8 * MIB :]).status_code == 200
    options = {"shot": "sq010/sh0020", "mask_prompts": ["person", "dog"], "stages": []}
    done = client.post(
        f"/api/uploads/{ticket['upload_id']}/complete",
        headers=BASIC,
        json={
            "key": ticket["key"],
            "options": options,
            "parts": [{"number": i + 1, "etag": e} for i, e in enumerate(etags)],
        },
    ).json()
    assert services.store.get("incoming/A001_C002.MOV").data == data
    sidecar = json.loads(services.store.get("incoming/A001_C002.MOV.json").data)
    assert sidecar == {"shot": "sq010/sh0020", "mask_prompts": ["person", "dog"]}
    assert done["state"] == "claimed" and dispatcher.submitted == [done["job_id"]]
    record = services.ledger.get(done["job_id"])
    assert record.options.shot == "sq010/sh0020" and record.options.mask_prompts == [
        "person",
        "dog",
    ]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "notes.txt", "size": 10}, 400, "not a footage file"),
        ({"name": "plate.mov.partial", "size": 10}, 400, "temporary"),
        ({"name": "plate.mov", "size": 10, "options": {"first_frame": -4}}, 400, "first_frame"),
        ({"name": "plate.mov", "size": 10, "options": {"colour": "red"}}, 400, "colour"),
    ],
)
def test_what_is_not_a_plate_is_refused_before_any_bytes(local, body, status, message) -> None:  # type: ignore[no-untyped-def]
    client, services, _ = local
    response = client.post("/api/uploads", headers=BASIC, json=body)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert list(services.store.list("incoming/")) == []


def test_a_name_already_in_the_drop_zone_is_never_replaced(local) -> None:  # type: ignore[no-untyped-def]
    client, services, _ = local
    services.store.put("incoming/plate.mov", b"the original")
    response = client.post("/api/uploads", headers=BASIC, json={"name": "plate.mov", "size": 3})
    assert response.status_code == 409 and "rename" in response.json()["detail"]
    assert services.store.get("incoming/plate.mov").data == b"the original"


def test_signed_urls_refuse_tampering(local) -> None:  # type: ignore[no-untyped-def]
    client, services, _ = local
    ticket = client.post("/api/uploads", headers=BASIC, json={"name": "p.mov", "size": 4}).json()
    url = ticket["part_urls"][0]
    assert client.put(url.replace("/parts/1", "/parts/2"), content=b"data").status_code == 403
    assert client.put(url.replace("sig=", "sig=0"), content=b"data").status_code == 403
    services.store.put("published/x/v001/manifest.json", b"{}")
    assert (
        client.get("/files/published/x/v001/manifest.json?expires=9999999999&sig=00").status_code
        == 403
    )


def test_job_list_filters_pages_and_shows_every_planned_stage(  # type: ignore[no-untyped-def]
    local, plates: Plates, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, services, _ = local
    for name in ("a.mov", "b.mov", "c.mov"):
        ref = ref_for_local_file(services.store, plates.h264, key=f"incoming/{name}")
        claim_plate(services, ref)
        time.sleep(0.002)  # the index orders by the millisecond of the claim
    page = client.get("/api/jobs?per_page=2", headers=BASIC).json()
    assert page["total"] == 3 and len(page["jobs"]) == 2
    assert [s["name"] for s in page["jobs"][0]["stages"]] == ["probe", "frames"]
    assert {s["status"] for s in page["jobs"][0]["stages"]} == {"pending"}
    assert len(client.get("/api/jobs?per_page=2&page=2", headers=BASIC).json()["jobs"]) == 1
    # An unfiltered page reads only the records it shows.
    reads: list[str] = []
    real_get = services.ledger.get
    monkeypatch.setattr(
        services.ledger, "get", lambda job_id: reads.append(job_id) or real_get(job_id)
    )
    newest = client.get("/api/jobs?per_page=1", headers=BASIC).json()["jobs"]
    assert [j["key"] for j in newest] == ["incoming/c.mov"] and len(reads) == 1
    monkeypatch.undo()
    assert client.get("/api/jobs?shot=b.mov", headers=BASIC).json()["total"] == 1
    assert client.get("/api/jobs?state=published", headers=BASIC).json()["total"] == 0


def test_job_page_links_resolve_and_frames_scrub(local, plates: Plates) -> None:  # type: ignore[no-untyped-def]
    client, services, _ = local
    ref = ref_for_local_file(services.store, plates.h264, key="incoming/sh0040.mov")
    job_id = claim_plate(services, ref).record.job_id
    pipeline.run(job_id, services)
    job = client.get(f"/api/jobs/{job_id}", headers=BASIC).json()
    assert job["state"] == "published"
    assert job["source"]["width"] == 320 and job["source"]["frame_count"] == 48
    assert job["frame_range"] == {"first": 1, "last": 48}
    assert job["sequences"][0]["pattern"] == "frame.####.png"
    manifest = client.get(job["manifest"]["url"])  # a signed link: no credentials
    assert manifest.status_code == 200 and manifest.json()["job_id"] == job_id
    thumbnail = next(f for f in job["files"] if f["name"] == "thumbnail.jpg")
    assert client.get(thumbnail["url"]).content[:3] == b"\xff\xd8\xff"
    links = client.get(f"/api/jobs/{job_id}/frames/47", headers=BASIC).json()
    assert links["depth"] is None and links["mask"] is None
    assert client.get(links["frame"]).content[:8] == b"\x89PNG\r\n\x1a\n"
    assert "frame.0048.png" in links["frame"]


def test_retry_reclaims_a_failed_job_through_the_ledger(local, plates: Plates) -> None:  # type: ignore[no-untyped-def]
    client, services, dispatcher = local
    services.store.put("incoming/bad.mov.json", b"{not json")
    ref = ref_for_local_file(services.store, plates.h264, key="incoming/bad.mov")
    job_id = claim_plate(services, ref).record.job_id
    assert pipeline.run(job_id, services).state is JobState.FAILED
    assert client.post(f"/api/jobs/{job_id}/retry", headers=BASIC, json={}).status_code == 200
    assert dispatcher.submitted == [job_id]
    assert client.get(f"/api/jobs/{job_id}", headers=BASIC).json()["retry_possible"] is False
    # Its retry is queued: a second press is refused, and nothing is dispatched twice.
    second = client.post(f"/api/jobs/{job_id}/retry", headers=BASIC, json={})
    assert second.status_code == 409 and "already queued" in second.json()["detail"]
    assert dispatcher.submitted == [job_id]
    assert len(list(services.ledger.ids())) == 1  # never a second job


def test_on_s3_parts_go_straight_to_the_bucket(http_s3_store: S3Store, tmp_path: Path) -> None:
    """Presigned part URLs over real HTTP (a local S3 server): our app sees no bytes."""
    services = _services(tmp_path, http_s3_store)
    dispatcher = RecordingDispatcher()
    client = TestClient(create_app(services, dispatcher))
    data = b"\x00\x01" * (5 * MIB + 100)  # 10 MiB and a bit: two parts of 8 MiB max
    ticket = client.post(
        "/api/uploads", headers=BASIC, json={"name": "plate.mp4", "size": len(data)}
    ).json()
    assert all(
        url.startswith(http_s3_store.client.meta.endpoint_url) for url in ticket["part_urls"]
    )
    etags = []
    for n, url in enumerate(ticket["part_urls"]):
        response = httpx.put(
            url, content=data[n * ticket["part_size"] : (n + 1) * ticket["part_size"]]
        )
        assert response.status_code == 200
        etags.append(response.headers["etag"])
    done = client.post(
        f"/api/uploads/{ticket['upload_id']}/complete",
        headers=BASIC,
        json={
            "key": ticket["key"],
            "parts": [{"number": i + 1, "etag": e} for i, e in enumerate(etags)],
        },
    ).json()
    assert http_s3_store.head("incoming/plate.mp4").size == len(data)
    assert dispatcher.submitted == [done["job_id"]]


@pytest.mark.slow
def test_scrubber_layers_and_camera_path_of_a_full_job(tmp_path: Path) -> None:
    """A plate with a moving box through camera, depth and masks: each frame has its
    depth preview and mask, and the camera path has a point per frame."""
    from ingest_service.samples.scene import render_plate

    services = _services(
        tmp_path,
        LocalStore(tmp_path / "bucket"),
        stages=["probe", "frames", "camera", "depth", "masks"],
    )
    client = TestClient(create_app(services, RecordingDispatcher()))
    plate = tmp_path / "mover.mp4"
    render_plate(plate, "dolly", frames=24, width=320, height=180, f=250.0, mover=True)
    ref = ref_for_local_file(services.store, plate, key="incoming/mover.mp4")
    job_id = claim_plate(services, ref).record.job_id
    pipeline.run(job_id, services)
    job = client.get(f"/api/jobs/{job_id}", headers=BASIC).json()
    assert job["layers"] == {"depth": "preview", "mask": "moving"}
    assert len(job["camera"]["points"]) == 24 and job["camera"]["kind"] == "full"
    assert {p["status"] for p in job["camera"]["points"]} == {"registered"}
    links = client.get(f"/api/jobs/{job_id}/frames/10", headers=BASIC).json()
    for layer, name in (
        ("frame", "frame.0011.png"),
        ("depth", "preview.0011.png"),
        ("mask", "moving/mask.0011.png"),
    ):
        assert links[layer] is not None and name in links[layer]
        assert client.get(links[layer]).content[:4] == b"\x89PNG"


def test_the_camera_verdict_is_in_the_list_and_the_page(  # type: ignore[no-untyped-def]
    local, plates: Plates, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, services, _ = local
    ids = {}
    for name in ("checked.mov", "ok.mov", "unsolved.mov"):
        ref = ref_for_local_file(services.store, plates.h264, key=f"incoming/{name}")
        ids[name] = claim_plate(services, ref).record.job_id
    solved(services, ids["checked.mov"], [WEAK_FOCAL, FEW_TRACKS])
    solved(services, ids["ok.mov"], "ok")
    # The list reads each job's record and nothing more: the verdict is in it.
    reads: list[str] = []
    real_get = services.store.get

    def counted_get(key: str) -> object:
        reads.append(key)
        return real_get(key)

    monkeypatch.setattr(services.store, "get", counted_get)
    listed = client.get("/api/jobs", headers=BASIC).json()["jobs"]
    assert sorted(reads) == sorted(services.ledger.key(i) for i in ids.values())
    monkeypatch.undo()
    reviews = {j["key"].removeprefix("incoming/"): j["camera_review"] for j in listed}
    assert reviews == {
        "checked.mov": [WEAK_FOCAL, FEW_TRACKS],
        "ok.mov": "ok",
        "unsolved.mov": None,
    }

    page = client.get(f"/api/jobs/{ids['checked.mov']}", headers=BASIC).json()
    assert page["camera_review"] == [WEAK_FOCAL, FEW_TRACKS]
    verdict = page["camera_verdict"]
    assert verdict["review"] == [WEAK_FOCAL, FEW_TRACKS]
    assert verdict["solve"] == "full" and verdict["frontend"] == "tracks"
    assert verdict["focal_length_px"] == 1816.0 and verdict["focal_range_px"] == [1100.0, 2600.0]
    assert verdict["parallax_deg"] == 1.8 and verdict["tracks_per_frame"] == 38.0
    assert (verdict["reprojection_p50_px"], verdict["reprojection_p90_px"]) == (0.41, 1.12)
    assert (verdict["interpolated_frames"], verdict["frames"]) == (3, 48)
    unsolved = client.get(f"/api/jobs/{ids['unsolved.mov']}", headers=BASIC).json()
    assert unsolved["camera_review"] is None and unsolved["camera_verdict"] is None


def test_a_camera_stage_that_failed_shows_no_verdict(local, plates: Plates) -> None:  # type: ignore[no-untyped-def]
    client, services, _ = local
    ref = ref_for_local_file(services.store, plates.h264, key="incoming/failed.mov")
    job_id = claim_plate(services, ref).record.job_id
    solved(services, job_id, [WEAK_FOCAL])
    record = services.ledger.get(job_id)
    record.stages["camera"].status = StageStatus.FAILED
    record.stages["camera"].error = ErrorInfo(type="X", message="no solve", retryable=False)
    services.store.put(services.ledger.key(job_id), record.to_json())
    job = client.get(f"/api/jobs/{job_id}", headers=BASIC).json()
    assert job["camera_review"] is None and job["camera_verdict"] is None
    assert client.get("/api/jobs", headers=BASIC).json()["jobs"][0]["camera_review"] is None
