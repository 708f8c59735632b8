"""The dashboard in headless Chromium against a real server and a folder bucket.

Drag-and-drop a rendered plate, watch its job reach `published` live, open its page,
scrub frames, see the camera plot, download the manifest. Screenshots go to
`$INGEST_TEST_ARTIFACTS` (default: test-artifacts/). Needs Debian's chromium and
chromium-driver (CI installs them); elsewhere the test is skipped, saying why.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import uvicorn

from handlers.app import create_app
from handlers.dashboard.uploads import UploadError
from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.states import JobState
from ingest_service.notify.verdict import Review
from ingest_service.run.intake import claim_plate
from ingest_service.run.threads import ThreadDispatcher
from ingest_service.samples.scene import render_plate
from ingest_service.services import Services
from storage import LocalStore
from tests.conftest import make_settings
from tests.handlers.dashboard.verdicts import FEW_TRACKS, WEAK_FOCAL, solved
from tests.plates import Plates

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
TOKEN = "dashboard-test-token-0123456789"
ARTIFACTS = Path(os.environ.get("INGEST_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver (Debian packages)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Services, ThreadDispatcher]]:
    settings = make_settings(
        tmp_path, stages=["probe", "frames", "camera", "depth", "masks"], webhook_token=TOKEN
    )
    services = Services.build(settings, store=LocalStore(tmp_path / "bucket"))
    dispatcher = ThreadDispatcher(services, workers=1)
    port = _free_port()
    app = create_app(services, dispatcher)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", services, dispatcher
    instance.should_exit = True
    thread.join(timeout=10)
    dispatcher.shutdown(wait=True)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1366,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    # The dashboard asks for the token as basic auth; send it on every request.
    basic = base64.b64encode(f"artist:{TOKEN}".encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {basic}"}}
    )
    try:
        yield driver
    finally:
        driver.quit()


def _drop(driver: object, selector: str, path: Path) -> None:
    """Drag a local file onto an element: a file input the test adds feeds a DataTransfer
    that a real drop event carries (WebDriver cannot drag from the desktop)."""
    driver.execute_script(  # type: ignore[attr-defined]
        "const i = document.createElement('input'); i.type = 'file'; i.id = 'test-drop-source';"
        "i.style.display = 'none'; document.body.append(i);"
    )
    driver.find_element("id", "test-drop-source").send_keys(str(path))  # type: ignore[attr-defined]
    driver.execute_script(  # type: ignore[attr-defined]
        "const target = document.querySelector(arguments[0]);"
        "const data = new DataTransfer();"
        "data.items.add(document.getElementById('test-drop-source').files[0]);"
        "for (const type of ['dragenter', 'dragover', 'drop']) {"
        "  target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,"
        "                                           dataTransfer: data}));"
        "}",
        selector,
    )


def _texts(driver: object, selector: str) -> list[str]:
    """Texts of the matching elements, read in one step: live updates replace rows, so
    element handles found a moment earlier may already be gone."""
    return driver.execute_script(  # type: ignore[attr-defined,no-any-return]
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", selector
    )


def _wait(condition: object, timeout: float = 120.0, what: str = "") -> object:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_upload_watch_open_scrub_and_download(
    server: tuple[str, Services, ThreadDispatcher],
    browser: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, services, _ = server
    driver = browser
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    plate = tmp_path / "sh0100_orbit.mp4"
    render_plate(plate, "orbit", frames=24, width=320, height=180, f=250.0)
    not_footage = tmp_path / "notes.txt"
    not_footage.write_text("not a plate")

    driver.get(f"{base}/ui/#/upload")  # type: ignore[attr-defined]
    _wait(lambda: driver.find_elements(By.ID, "dropzone"), 20, "the upload page")  # type: ignore[attr-defined]
    # A file that is not footage is refused before any byte is sent.
    _drop(driver, "#dropzone", not_footage)
    refused = _wait(
        lambda: any("not a video file" in t for t in _texts(driver, ".uploads .error")),
        10,
        "the refusal",
    )
    assert refused
    assert list(services.store.list("incoming/")) == []

    driver.execute_script("document.getElementById('test-drop-source').remove()")  # type: ignore[attr-defined]
    # The first part's first attempt fails in the bucket: the page sends that part again.
    from handlers.dashboard.uploads import Uploads

    calls: list[int] = []
    real_put = Uploads.put_local_part

    def flaky(
        self: Uploads, upload_id: str, number: int, length: str | None, chunks: Iterable[bytes]
    ) -> str:
        calls.append(number)
        if calls.count(number) == 1 and number == 1:
            raise UploadError(503, "the bucket is busy")
        return real_put(self, upload_id, number, length, chunks)

    monkeypatch.setattr(Uploads, "put_local_part", flaky)
    # The form starts from the service's own defaults (here every stage, masks included).
    boxes = driver.execute_script(  # type: ignore[attr-defined]
        "return [...document.querySelectorAll('input[name=stages]')].filter(b => b.checked)"
        ".map(b => b.value)"
    )
    assert boxes == ["probe", "frames", "camera", "depth", "masks"]
    driver.find_element(By.NAME, "shot").send_keys("sq010/sh0100")  # type: ignore[attr-defined]
    _drop(driver, "#dropzone", plate)
    _wait(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".uploads a.job-link"),
        60,  # type: ignore[attr-defined]
        "the upload to complete",
    )
    driver.save_screenshot(str(ARTIFACTS / "dashboard-upload.png"))  # type: ignore[attr-defined]
    assert services.store.head("incoming/sh0100_orbit.mp4").size == plate.stat().st_size
    assert calls == [1, 1]  # one part, sent twice: the failure was retried, alone
    sidecar = json.loads(services.store.get("incoming/sh0100_orbit.mp4.json").data)
    assert sidecar == {"shot": "sq010/sh0100"}  # the stages were left as they come

    # The jobs list shows it, updated live as its stages run.
    driver.get(f"{base}/ui/#/")  # type: ignore[attr-defined]
    _wait(lambda: "published" in _texts(driver, "tbody .badge"), 240, "the job to be published")
    assert "live" in driver.find_element(By.ID, "live").text  # type: ignore[attr-defined]
    assert "null" not in driver.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    # The solve's verdict, whichever it is, is a badge beside the job's state.
    [verdict] = _texts(driver, "tbody .badge.camera-ok, tbody .badge.camera-check")
    assert verdict.startswith(("camera ok", "camera: check"))
    driver.save_screenshot(str(ARTIFACTS / "dashboard-jobs.png"))  # type: ignore[attr-defined]

    # The job's page: facts, the scrubber, the camera plot, the manifest.
    href = driver.execute_script("return document.querySelector('tbody td a').href")  # type: ignore[attr-defined]
    driver.get(href)  # type: ignore[attr-defined]
    _wait(lambda: driver.find_elements(By.ID, "scrub"), 20, "the job page")  # type: ignore[attr-defined]
    assert "sq010/sh0100/v001" in driver.find_element(By.TAG_NAME, "h1").text  # type: ignore[attr-defined]
    frame = driver.find_element(By.CSS_SELECTOR, "img.frame")  # type: ignore[attr-defined]
    loaded = "return arguments[0].complete && arguments[0].naturalWidth"
    _wait(lambda: driver.execute_script(loaded, frame), 20, "the first frame")  # type: ignore[attr-defined]
    first_src = frame.get_attribute("src")
    slider = driver.find_element(By.ID, "scrub")  # type: ignore[attr-defined]
    slider.send_keys(Keys.END)
    _wait(lambda: driver.find_element(By.ID, "frame-number").text == "24", 10, "frame 24")  # type: ignore[attr-defined]
    _wait(
        lambda: frame.get_attribute("src") != first_src and driver.execute_script(loaded, frame),
        20,
        "frame 24's image",
    )  # type: ignore[attr-defined]
    for layer in ("img.depth", "img.mask"):  # depth preview and mask beside the frame
        image = driver.find_element(By.CSS_SELECTOR, layer)  # type: ignore[attr-defined]
        _wait(lambda image=image: driver.execute_script(loaded, image), 20, layer)  # type: ignore[attr-defined]
        assert "0024" in image.get_attribute("src")
    dots = driver.find_elements(By.CSS_SELECTOR, "#camera-plots figure:first-child svg .cam")  # type: ignore[attr-defined]
    assert len(dots) == 24
    # The current frame is marked on the path.
    marker = driver.find_element(By.CSS_SELECTOR, "#camera-plots figure:first-child svg .current")  # type: ignore[attr-defined]
    assert marker.get_attribute("cx") == dots[23].get_attribute("cx")
    assert "Focal length" in driver.find_element(By.ID, "camera-verdict").text  # type: ignore[attr-defined]
    facts = driver.find_element(By.CSS_SELECTOR, "dl.facts").text  # type: ignore[attr-defined]
    assert "320 \u00d7 180" in facts and "1\u201324 (24)" in facts
    driver.save_screenshot(str(ARTIFACTS / "dashboard-job.png"))  # type: ignore[attr-defined]

    href = driver.find_element(By.ID, "manifest-link").get_attribute("href")  # type: ignore[attr-defined]
    manifest = driver.execute_async_script(  # type: ignore[attr-defined]
        "fetch(arguments[0]).then(r => r.json()).then(arguments[1]);", href
    )
    assert manifest["shot"]["name"] == "sq010/sh0100"
    assert manifest["shot"]["frame_count"] == 24

    log = driver.get_log("browser")  # type: ignore[attr-defined]
    injected = [e for e in log if "/parts/1?" in e["message"] and "503" in e["message"]]
    assert len(injected) == 1  # Chrome logs the failure we caused; nothing else went wrong
    assert [e for e in log if e["level"] == "SEVERE" and e not in injected] == []


def test_a_solve_to_check_says_why_in_the_list_and_on_its_page(
    server: tuple[str, Services, ThreadDispatcher], browser: object, plates: Plates
) -> None:
    from selenium.webdriver.common.by import By

    base, services, _ = server
    driver = browser
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ids = {}
    reviews: list[tuple[str, Review]] = [
        ("sh0200.mov", [WEAK_FOCAL, FEW_TRACKS]),
        ("sh0210.mov", "ok"),
    ]
    for name, review in reviews:
        ref = ref_for_local_file(services.store, plates.h264, key=f"incoming/{name}")
        ids[name] = claim_plate(services, ref).record.job_id
        solved(services, ids[name], review, JobState.PUBLISHED)
    ref = ref_for_local_file(services.store, plates.h264, key="incoming/sh0220.mov")
    claim_plate(services, ref)  # its camera has not run: no badge

    driver.get(f"{base}/ui/#/")  # type: ignore[attr-defined]
    _wait(lambda: len(_texts(driver, "tbody tr")) == 3, 20, "the jobs list")
    badges = driver.execute_script(  # type: ignore[attr-defined]
        "return [...document.querySelectorAll('tbody tr')].map(r => {"
        "  const b = r.querySelector('.camera-ok, .camera-check');"
        "  return [r.querySelector('.muted').textContent, b && b.firstChild.textContent,"
        "          b && b.title]; })"
    )
    shown = {key: (text, title) for key, text, title in badges}
    assert shown["incoming/sh0200.mov"] == ("camera: check", f"{WEAK_FOCAL}\n{FEW_TRACKS}")
    assert shown["incoming/sh0210.mov"][0] == "camera ok"
    assert shown["incoming/sh0220.mov"] == (None, None)
    driver.save_screenshot(str(ARTIFACTS / "dashboard-verdicts.png"))  # type: ignore[attr-defined]

    driver.get(f"{base}/ui/#/job/{ids['sh0200.mov']}")  # type: ignore[attr-defined]
    _wait(lambda: driver.find_elements(By.ID, "camera-verdict"), 20, "the verdict")  # type: ignore[attr-defined]
    assert _texts(driver, "#camera-verdict .reasons li") == [WEAK_FOCAL, FEW_TRACKS]
    rows = driver.execute_script(  # type: ignore[attr-defined]
        "return Object.fromEntries([...document.querySelectorAll('#camera-verdict tr')]"
        ".map(r => [r.cells[0].textContent, r.cells[1].textContent]))"
    )
    assert rows == {
        "Solve": "full",
        "Focal length": "1816 px (solved), anything from 1100 to 2600 px fits",
        "Parallax": "1.80\u00b0",
        "Reprojection p50 / p90": "0.41 / 1.12 px",
        "Tracks per frame": "38",
        "Interpolated frames": "3 of 48",
        "Front end": "tracks",
    }
    driver.save_screenshot(str(ARTIFACTS / "dashboard-verdict.png"))  # type: ignore[attr-defined]
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []  # type: ignore[attr-defined]
