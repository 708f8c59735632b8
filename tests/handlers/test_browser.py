"""What a browser may send to the app, and what every answer tells the browser.

A page on another site can make a logged-in browser POST a form or `text/plain` (with the
cached basic-auth credentials) without asking first; it cannot send JSON or a custom
header without a CORS preflight, which this app never grants.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from handlers.app import create_app
from handlers.browser import SECURITY_HEADERS, origin_of
from handlers.dashboard.routes import STATIC
from ingest_service.services import Services
from storage import LocalStore, ObjectStore, S3Store
from tests.conftest import make_settings
from tests.handlers.conftest import AUTH, TOKEN, RecordingDispatcher
from tests.handlers.events.test_parse import event
from tests.handlers.sns_keys import notification

BASIC = {"Authorization": "Basic " + base64.b64encode(f"me:{TOKEN}".encode()).decode()}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# What a cross-site form or a no-cors fetch can send.
SIMPLE_BODIES = [
    ({"Content-Type": "text/plain"}, b"{}"),
    ({"Content-Type": "text/plain; charset=UTF-8"}, b"{}"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"a=b"),
    ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--\r\n"),
    ({}, b""),
]


@pytest.fixture
def store(local_store: LocalStore) -> ObjectStore:
    return local_store


def _test_event(services: Services) -> bytes:
    doc = event("s3_put.json")
    doc["Records"][0]["s3"]["bucket"]["name"] = services.store.bucket
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("headers", "body"), SIMPLE_BODIES)
def test_events_refuse_what_a_form_can_send(
    client: TestClient,
    hook_services: Services,
    dispatcher: RecordingDispatcher,
    headers: dict[str, str],
    body: bytes,
) -> None:
    response = client.post(
        "/events",
        content=body or _test_event(hook_services),
        headers={
            **AUTH,
            **headers,
        },
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert dispatcher.submitted == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_events_take_json(client: TestClient, hook_services: Services, content_type: str) -> None:
    response = client.post(
        "/events",
        content=_test_event(hook_services),
        headers={**AUTH, "Content-Type": content_type},
    )
    assert response.status_code == 200
    assert len(response.json()["claimed"]) == 1


def test_sns_posts_text_plain_and_is_still_taken(
    client: TestClient, hook_services: Services
) -> None:
    """SNS cannot be told to send JSON by default, but it names itself in a header a
    browser cannot send cross-site, and its message is checked by signature."""
    doc = notification(json.loads(_test_event(hook_services)))
    headers = {
        **BASIC,
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": "Notification",
    }
    response = client.post("/events", content=json.dumps(doc).encode(), headers=headers)
    assert response.status_code == 200
    assert len(response.json()["claimed"]) == 1


def test_sns_header_does_not_let_an_unsigned_body_through(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    headers = {**AUTH, "Content-Type": "text/plain", "x-amz-sns-message-type": "Notification"}
    response = client.post("/events", content=_test_event(hook_services), headers=headers)
    assert response.status_code == 400  # not an SNS envelope, whatever the header says
    assert dispatcher.submitted == []


def test_every_state_changing_route_refuses_a_form(client: TestClient) -> None:
    """Every route the app publishes, including those added later: a route is exempt
    only when a signed URL, not the browser's credentials, authorises it."""
    checked = []
    for path, operations in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        url = re.sub(r"\{[^}]+\}", "x", path)
        for method, operation in operations.items():
            if method.upper() not in UNSAFE:
                continue
            signed = any(p["name"] == "sig" for p in operation.get("parameters", []))
            for headers, body in SIMPLE_BODIES:
                response = client.request(
                    method, f"{url}?key=x", content=body, headers={**BASIC, **headers}
                )
                assert (response.status_code == 415) is not signed, (method, path, headers)
            checked.append(f"{method.upper()} {path}")
    assert {
        "POST /events",
        "POST /api/jobs/{job_id}/retry",
        "POST /api/uploads",
        "POST /api/uploads/{upload_id}/complete",
        "DELETE /api/uploads/{upload_id}",
        "PUT /api/uploads/{upload_id}/parts/{number}",
    } <= set(checked)


def test_retry_from_another_site_changes_nothing(
    client: TestClient, hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    response = client.post(
        "/api/jobs/any-job/retry", content=b"", headers={**BASIC, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert dispatcher.submitted == []


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/health", {}),
        ("GET", "/ui/", BASIC),
        ("GET", "/ui/", {}),  # 401
        ("GET", "/ui/static/app.js", {}),
        ("GET", "/api/jobs", BASIC),
        ("GET", "/no/such/page", {}),  # 404
        ("POST", "/events", {**AUTH, "Content-Type": "text/plain"}),  # 415
        ("HEAD", "/events", AUTH),
    ],
)
def test_every_answer_carries_the_security_headers(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = client.request(method, path, headers=headers)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy


def test_the_policy_lets_the_page_use_the_buckets_presigned_urls(
    s3_store: S3Store, tmp_path: Path
) -> None:
    services = Services.build(make_settings(tmp_path, webhook_token=TOKEN), store=s3_store)
    client = TestClient(create_app(services, RecordingDispatcher()))
    policy = client.get("/health").headers["content-security-policy"]
    origin = origin_of(s3_store.presign("incoming/sh0010.mov"))
    assert origin and origin.startswith("https://")
    assert f"img-src 'self' data: {origin};" in policy  # frames, depth and masks
    assert f"connect-src 'self' {origin};" in policy  # upload parts


def test_on_a_folder_store_the_page_uses_only_this_host(client: TestClient) -> None:
    policy = client.get("/health").headers["content-security-policy"]
    assert "img-src 'self' data:;" in policy
    assert "connect-src 'self';" in policy


def test_the_page_needs_nothing_the_policy_refuses() -> None:
    """No inline script, style or handler, and nothing from another host."""
    html = (STATIC / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert re.findall(r"\s(style|on[a-z]+)=", html) == []
    links = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert links and all(link.startswith(("/ui/static/", "#", "data:")) for link in links)
    for script in STATIC.glob("*.js"):
        code = script.read_text()
        for unsafe in ("innerHTML", "eval(", "new Function", '"style"', "style:"):
            assert unsafe not in code, (script.name, unsafe)
        # Any URL but the SVG namespace's would be another host to load from.
        assert re.findall(r"https?://(?!www\.w3\.org/2000/svg)", code) == [], script.name


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.mark.slow
@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver")
def test_the_dashboard_runs_under_its_policy_in_a_browser(
    hook_services: Services, dispatcher: RecordingDispatcher
) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    app = create_app(hook_services, dispatcher)
    with _serving(app) as base:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM  # type: ignore[assignment]
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(DRIVER))
        try:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd(
                "Network.setExtraHTTPHeaders",
                {"headers": {"Authorization": BASIC["Authorization"]}},
            )
            driver.get(f"{base}/ui/#/upload")
            _until(lambda: driver.find_elements(By.ID, "dropzone"))
            _until(lambda: driver.find_element(By.ID, "live").text == "live")
            driver.get(f"{base}/ui/#/")
            _until(lambda: driver.find_elements(By.CSS_SELECTOR, "main h1"))
            log = driver.get_log("browser")  # type: ignore[no-untyped-call]
        finally:
            driver.quit()
    assert [entry for entry in log if entry["level"] == "SEVERE"] == []


@contextlib.contextmanager
def _serving(app: FastAPI) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _until(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _until(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the page did not get there"
        time.sleep(0.1)
