"""Property tests over the upload API, on the folder store and on S3 (moto).

Whatever a caller sends (random, deep, huge, unicode and control-character names, keys,
ids, options and bodies; parts of any length; completions of any shape), the answer is
never a 5xx, and the bucket, listed after every example, holds nothing outside the drop
zone and the service's own job records: every plate in the drop zone is whole (the size
it declared), and every sidecar there has its plate.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handlers.dashboard.tickets import Plan
from ingest_service.jobs.layout import BucketLayout
from storage import ObjectStore, S3Store
from tests.bounded import BOUNDED
from tests.handlers.dashboard.uploader import BASIC, Browser, services_on

JSON = {**BASIC, "Content-Type": "application/json"}
# One app per test, shared by its examples: the bucket they leave is what is checked.
EXAMPLES = settings(
    BOUNDED,
    max_examples=25,
    suppress_health_check=[*BOUNDED.suppress_health_check, HealthCheck.function_scoped_fixture],
)
LAYOUT = BucketLayout()
ALLOWED = re.compile(
    rf"^({re.escape(LAYOUT.incoming)}[^/]+"
    rf"|{re.escape(LAYOUT.jobs)}[^/]+\.json"
    rf"|{re.escape(LAYOUT.active)}[^/]+"
    rf"|{re.escape(LAYOUT.index)}[^/]+)$"
)

# Text with everything in it (any code point, control characters, lone surrogates), or
# plain words, so that as many examples get past the first check as are stopped there.
CHARS = st.one_of(st.characters(), st.characters(categories=["Cc", "Cs", "Zs", "Cf"]))
PLAIN = st.text(st.characters(categories=["L", "N", "Pd"]), min_size=1, max_size=30)
TEXT = st.one_of(PLAIN, st.text(CHARS, max_size=40))
HOSTILE = st.sampled_from(
    [
        "../../etc/passwd.mov",
        "..\\..\\x.mov",
        "/abs.mov",
        "a//b.mov",
        ".ingest/jobs/zz-forged",
        "published/evil/v001/manifest",
        ".localstore/uploads/x.mov",
        "incoming/../published/x.mov",
        "incoming/.mov",
        "x.mov\x00.json",
        "é" * 200 + ".mov",
        "a" * 5000 + ".mov",
        "",
        " ",
        ".",
        "..",
        "shoot/",
        "sh0010.MOV",
        "sh0010.mov.json",
    ]
)
NAMES = st.one_of(
    st.builds(lambda s, ext: s + ext, TEXT, st.sampled_from([".mov", ".mp4", ".json", ""])),
    HOSTILE,
    TEXT,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSONISH = st.recursive(
    SCALARS,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=4),
    max_leaves=12,
)
OPTIONS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "shot": TEXT,
            "stages": st.lists(st.sampled_from(["probe", "frames", "camera", "x"]), max_size=3),
            "mask_prompts": st.lists(TEXT, max_size=3),
            "first_frame": st.integers(-5, 10**6),
        },
    ),
    st.dictionaries(TEXT, JSONISH, max_size=4),
    JSONISH,
)
SIZES = st.one_of(
    st.integers(1, 40_000), st.integers(-3, 10), st.sampled_from([5 * 1024**4, 5 * 1024**4 + 1])
)
MEDIA_TYPES = st.one_of(st.none(), st.sampled_from(["video/quicktime", "video/mp4"]), TEXT)


def _body(doc: Any) -> bytes:
    """JSON as a browser would send it (lone surrogates escaped, as JSON.stringify does)."""
    return json.dumps(doc, ensure_ascii=True).encode()


def deep(depth: int) -> bytes:
    return (
        b'{"name": "a.mov", "size": 1, "options": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    )


RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.integers(1, 50_000).map(deep),
    st.integers(1, 50_000).map(lambda n: b"[" * n + b"]" * n),
    st.just(b'{"name": "' + b"a" * 3_000_000 + b'.mov", "size": 1}'),
    st.just(b'{"name": "a.mov", "size": 1' + b"0" * 5000 + b"}"),
)


@pytest.fixture
def browser(store: ObjectStore, tmp_path: Any) -> Browser:
    return Browser(services_on(tmp_path, store))


@pytest.fixture
def on_folder(local_store: ObjectStore, tmp_path: Any) -> Browser:
    return Browser(services_on(tmp_path, local_store))


def check_bucket(browser: Browser) -> None:
    """Nothing outside its place; plates whole; no sidecar without its plate."""
    store, keys = browser.services.store, browser.stored()
    outside = [k for k in keys if not ALLOWED.match(k)]
    assert outside == []
    for key in keys:
        if key.startswith(LAYOUT.incoming) and key.endswith(".json"):
            assert key.removesuffix(".json") in keys, f"{key} without its plate"
    for record in browser.services.ledger.list():
        assert store.head(record.source.key).size == record.source.size


def answered(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 500, response.text
    event(f"{response.request.method} {response.status_code}")  # --hypothesis-show-statistics
    return response


@settings(EXAMPLES, max_examples=40)
@given(name=NAMES, size=SIZES, content_type=MEDIA_TYPES, options=OPTIONS)
def test_starting_an_upload(
    browser: Browser, name: str, size: int, content_type: str | None, options: Any
) -> None:
    doc = {"name": name, "size": size, "content_type": content_type, "options": options}
    response = answered(browser.client.post("/api/uploads", headers=JSON, content=_body(doc)))
    if response.status_code == 200:
        ticket = response.json()
        assert ticket["key"].startswith(LAYOUT.incoming) and "/" not in ticket["key"][9:]
        assert len(ticket["part_urls"]) == Plan(size).count
    check_bucket(browser)


@EXAMPLES
@given(body=RAW_BODIES, path=st.sampled_from(["/api/uploads", "/api/uploads/x.1.y/complete"]))
def test_raw_bodies(on_folder: Browser, body: bytes, path: str) -> None:
    """Bodies that are not the API's JSON are refused before any store is asked (so one
    store is enough)."""
    browser = on_folder
    answered(browser.client.post(path, headers=JSON, content=body))
    check_bucket(browser)


@EXAMPLES
@given(
    upload_id=st.text(CHARS, min_size=1, max_size=40),
    key=st.one_of(NAMES, NAMES.map(lambda n: f"{LAYOUT.incoming}{n}")),
    options=OPTIONS,
    parts=st.lists(
        st.fixed_dictionaries({"number": st.integers(-2, 10_002), "etag": TEXT}), max_size=5
    ),
)
def test_completing_or_aborting_what_was_never_started(
    browser: Browser, upload_id: str, key: str, options: Any, parts: list[dict[str, Any]]
) -> None:
    upload = "/api/uploads/" + quote(upload_id.encode("utf-8", "surrogatepass"), safe="")
    doc = {"key": key, "options": options, "parts": parts}
    answered(browser.client.post(f"{upload}/complete", headers=JSON, content=_body(doc)))
    answered(browser.client.delete(upload, params={"key": _sendable(key)}, headers=JSON))
    check_bucket(browser)


def _sendable(text: str) -> str:
    """`text` as a query string can carry it (a lone surrogate as its escape)."""
    return text.encode("utf-8", "backslashreplace").decode()


@EXAMPLES
@given(
    size=st.integers(1, 20_000),
    name=st.integers(0, 10**6).map(lambda n: f"p{n}.mov"),
    # Part number, and how far its length is from the whole upload's (most often exact).
    sent=st.lists(
        st.tuples(st.integers(1, 3), st.sampled_from([0, 0, -1, 1]) | st.integers(-30_000, 30_000)),
        min_size=1,
        max_size=3,
    ),
    claimed=st.lists(st.tuples(st.integers(-1, 3), st.booleans()), min_size=1, max_size=3),
    key_of=st.sampled_from(["own", "own", "own", "other", "outside"]),
    options=OPTIONS,
)
def test_uploads_of_any_parts_complete_whole_or_not_at_all(
    browser: Browser,
    size: int,
    name: str,
    sent: list[tuple[int, int]],
    claimed: list[tuple[int, bool]],
    key_of: str,
    options: Any,
) -> None:
    """Parts of any length to any part number, then a completion naming any parts (with
    their real ETags or not), for this upload's key or another: a plate that appears is
    exactly the size its upload declared."""
    start = browser.client.post(
        "/api/uploads", headers=JSON, content=_body({"name": name, "size": size})
    )
    if start.status_code == 409:  # an earlier example completed this name
        check_bucket(browser)
        return
    ticket = answered(start).json()
    etags: dict[int, str] = {}
    for number, off in sent:
        etag = _send(browser, ticket, number, max(0, size + off))
        if etag is not None:
            etags[number] = etag
    parts = [{"number": n, "etag": etags.get(n, '"0"') if real else '"bad"'} for n, real in claimed]
    key = {"own": ticket["key"], "other": "incoming/q.mov", "outside": ".ingest/jobs/q"}[key_of]
    doc = {"key": key, "parts": parts, "options": options}
    path = f"/api/uploads/{ticket['upload_id']}/complete"
    done = answered(browser.client.post(path, headers=JSON, content=_body(doc)))
    if done.status_code == 200:
        assert browser.services.store.head(ticket["key"]).size == size
    check_bucket(browser)
    answered(
        browser.client.delete(path.removesuffix("/complete"), params={"key": key}, headers=JSON)
    )


def _send(browser: Browser, ticket: dict[str, Any], number: int, length: int) -> str | None:
    """PUT `length` bytes as part `number`: to this app's signed URL (a folder store), or
    to S3 as a browser ignoring the signed length would (moto does not check it)."""
    data = bytes([number]) * length
    urls = ticket["part_urls"]
    if not urls[0].startswith("/"):
        store = cast(S3Store, browser.services.store)
        upload_id = ticket["upload_id"].rsplit(".", 2)[0]
        sent = store.client.upload_part(
            Bucket=store.bucket, Key=ticket["key"], UploadId=upload_id, PartNumber=number, Body=data
        )
        return str(sent["ETag"])
    url = (
        urls[number - 1]
        if number <= len(urls)
        else urls[0].replace("/parts/1?", f"/parts/{number}?")
    )
    response = answered(browser.client.put(url, content=data))
    return response.headers["etag"] if response.status_code == 200 else None
