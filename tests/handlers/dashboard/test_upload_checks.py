"""Uploads are checked before anything is written, leave nothing behind when they fail,
and hold to the size they declared: on the folder store and on S3 (a local S3 server)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from handlers.dashboard.uploads import UploadError, file_name
from ingest_service.cli.plates import ref_for_local_file
from ingest_service.run.intake import claim_plate
from storage import LocalStore
from tests.handlers.dashboard.uploader import BASIC, MIB, Browser, services_on
from tests.plates import Plates

OPTIONS = {"shot": "sq010/sh0010"}


@pytest.fixture(params=["local", "s3"])
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Browser:
    if request.param == "local":
        store = LocalStore(tmp_path / "bucket")
    else:
        store = request.getfixturevalue("http_s3_store")
    return Browser(services_on(tmp_path, store))


FORGED = [".ingest/jobs/zz-forged", "published/evil/v001/manifest", "incoming/../x.mov"]


@pytest.mark.parametrize("key", FORGED)
def test_a_completion_outside_the_drop_zone_writes_nothing(browser: Browser, key: str) -> None:
    body = {"key": key, "options": OPTIONS, "parts": [{"number": 1, "etag": "x"}]}
    for upload_id in ("0" * 32, "made-up"):
        response = browser.client.post(
            f"/api/uploads/{upload_id}/complete", headers=BASIC, json=body
        )
        assert 400 <= response.status_code < 500
        assert browser.stored() == []


def test_a_completion_must_name_its_own_uploads_key(browser: Browser) -> None:
    mine = browser.start("a.mov", 4).json()
    etags = browser.send_parts(mine, b"data")
    response = browser.complete(mine["upload_id"], "incoming/b.mov", etags, OPTIONS)
    assert response.status_code == 404 and "no upload" in response.json()["detail"]
    assert browser.stored() == []
    # The upload itself is untouched, and completes as it was started.
    assert browser.complete(mine["upload_id"], mine["key"], etags, OPTIONS).status_code == 200
    assert [k for k in browser.stored() if k.startswith("incoming/")] == [
        "incoming/a.mov",
        "incoming/a.mov.json",
    ]


def test_a_failed_completion_leaves_nothing_that_blocks_a_retry(browser: Browser) -> None:
    ticket = browser.start("plate.mov", 6, options=OPTIONS).json()
    etags = browser.send_parts(ticket, b"frames")
    wrong = browser.complete(ticket["upload_id"], ticket["key"], ['"0000"'], OPTIONS)
    assert wrong.status_code == 409 and "ETag" in wrong.json()["detail"]
    assert browser.stored() == []
    # A fresh upload of the name may start, and the retry with the right ETag completes.
    assert browser.start("plate.mov", 6, options=OPTIONS).status_code == 200
    done = browser.complete(ticket["upload_id"], ticket["key"], etags, OPTIONS)
    assert done.status_code == 200 and done.json()["state"] == "claimed"
    assert browser.services.store.get("incoming/plate.mov").data == b"frames"
    assert browser.services.ledger.get(done.json()["job_id"]).options.shot == "sq010/sh0010"


def test_a_completion_that_loses_the_name_takes_its_sidecar_back(browser: Browser) -> None:
    ticket = browser.start("race.mov", 4, options=OPTIONS).json()
    etags = browser.send_parts(ticket, b"mine")
    browser.services.store.put("incoming/race.mov", b"theirs")  # dropped meanwhile
    response = browser.complete(ticket["upload_id"], ticket["key"], etags, OPTIONS)
    assert response.status_code == 409
    assert browser.stored() == ["incoming/race.mov"]
    assert browser.services.store.get("incoming/race.mov").data == b"theirs"


NOT_FILE_NAMES = [
    ("sh\x000010.mov", "control character"),
    ("sh\x1b[31m.mov", "control character"),
    ("line\nbreak.mov", "control character"),
    ("sh\x7f.mov", "control character"),
    ("é" * 130 + ".mov", "255 bytes"),
    ("a" * 252 + ".mov", "255 bytes"),
    ("shoot/", "no file name"),
]


def test_a_name_that_cannot_be_a_file_is_a_clear_400(browser: Browser) -> None:
    for name, why in NOT_FILE_NAMES:
        response = browser.start(name, 10)
        assert response.status_code == 400, name
        assert why in response.json()["detail"]
    assert browser.stored() == []


def test_a_lone_surrogate_is_refused_as_json_before_any_check(browser: Browser) -> None:
    body = json.dumps({"name": "sh\ud800.mov", "size": 10}).encode()  # the escape \ud800
    headers = {**BASIC, "Content-Type": "application/json"}
    response = browser.client.post("/api/uploads", headers=headers, content=body)
    assert response.status_code == 422 and "Invalid JSON" in response.json()["detail"]
    with pytest.raises(UploadError, match="surrogate"):  # and should it come another way
        file_name("sh\ud800.mov")
    assert browser.stored() == []


def test_a_part_longer_than_declared_is_413_on_the_folder_store(tmp_path: Path) -> None:
    browser = Browser(services_on(tmp_path, LocalStore(tmp_path / "bucket")))
    ticket = browser.start("small.mov", 1).json()
    [url] = ticket["part_urls"]
    response = browser.put(url, b"x" * (2 * MIB))
    assert response.status_code == 413
    assert "1 byte" in response.json()["detail"]
    short = browser.start("short.mov", 10).json()
    assert browser.put(short["part_urls"][0], b"x" * 4).status_code == 400
    assert browser.put(url, b"x").status_code == 200
    assert browser.complete(ticket["upload_id"], ticket["key"], ['"x"']).status_code == 409
    assert browser.stored() == []


def test_a_part_beyond_the_declared_size_has_no_url(tmp_path: Path) -> None:
    browser = Browser(services_on(tmp_path, LocalStore(tmp_path / "bucket")))
    ticket = browser.start("two.mov", 9 * MIB).json()
    assert len(ticket["part_urls"]) == 2
    third = ticket["part_urls"][1].replace("/parts/2", "/parts/3")
    assert browser.put(third, b"x").status_code == 403  # the signature covers the number


def test_on_s3_parts_sign_their_length_and_completion_checks_the_total(
    http_s3_store: object, tmp_path: Path
) -> None:
    browser = Browser(services_on(tmp_path, http_s3_store))  # type: ignore[arg-type]
    ticket = browser.start("big.mov", 9 * MIB + 5).json()
    query = [parse_qs(urlsplit(url).query) for url in ticket["part_urls"]]
    # S3 refuses a PUT whose Content-Length is not the signed one (moto does not check).
    assert all(q["X-Amz-SignedHeaders"] == ["content-length;host"] for q in query)
    lifetimes = [int(q["X-Amz-Expires"][0]) for q in query]
    assert lifetimes[0] < lifetimes[1] < 6 * 3600

    small = browser.start("small.mov", 1).json()
    etags = [browser.put(small["part_urls"][0], b"x" * (2 * MIB)).headers["etag"]]
    response = browser.complete(small["upload_id"], small["key"], etags)
    assert response.status_code == 413 and "declared 1 byte" in response.json()["detail"]
    assert browser.stored() == []


def _forge_records(browser: Browser) -> None:
    jobs = browser.services.settings.layout.jobs
    browser.services.store.put(f"{jobs}zz-forged.json", b'{"shot": "x"}')
    browser.services.store.put(f"{jobs}zz-broken.json", b"{not json")


def test_an_unreadable_job_record_never_takes_down_the_list(
    browser: Browser, plates: Plates, caplog: pytest.LogCaptureFixture
) -> None:
    services = browser.services
    claim_plate(services, ref_for_local_file(services.store, plates.h264, key="incoming/a.mov"))
    _forge_records(browser)
    metrics = browser.client.get("/metrics", headers=BASIC).text
    before = _unreadable(metrics)
    with caplog.at_level(logging.WARNING):
        for query in ("", "?state=claimed", "?shot=a.mov", "?page=2&per_page=1"):
            response = browser.client.get(f"/api/jobs{query}", headers=BASIC)
            assert response.status_code == 200, query
        jobs = browser.client.get("/api/jobs", headers=BASIC).json()["jobs"]
        assert [j["key"] for j in jobs] == ["incoming/a.mov"]
        assert browser.client.get("/api/jobs/zz-forged", headers=BASIC).status_code == 404
    logged = [r for r in caplog.records if "cannot be read" in r.getMessage()]
    assert sorted(r.getMessage().split()[2] for r in logged) == ["zz-broken", "zz-forged"]
    after = _unreadable(browser.client.get("/metrics", headers=BASIC).text)
    assert after - before == 2


def _unreadable(metrics: str) -> int:
    [line] = [line for line in metrics.splitlines() if line.startswith("ingest_job_records_unr")]
    return int(line.split()[-1])
