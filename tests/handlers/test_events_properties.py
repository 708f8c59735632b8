"""POST /events under random, deep, huge, unicode and control-character bodies, and under
mutations of the real S3, SNS, EventBridge and MinIO payloads: never a 5xx, and after every
request the bucket holds only what its layout allows (the drop zone untouched, our state
under the names the layout builds).

Bounded and derandomised: the same few hundred examples on every run, in seconds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.app import create_app
from handlers.sns_signature import SnsVerifier
from ingest_service.jobs.layout import BucketLayout
from ingest_service.services import Services
from storage import LocalStore
from tests.bounded import BOUNDED
from tests.conftest import make_settings
from tests.handlers.conftest import AUTH, TOKEN, RecordingDispatcher
from tests.handlers.events.test_parse import EVENTS
from tests.handlers.sns_keys import CertFetcher, notification

MAX_EVENT_BYTES = 16 * 1024
BUCKET = "bucket"  # the folder's name is the bucket's
# Already in the drop zone before any request; they must stay byte for byte.
DROPPED = {
    "incoming/show/sh0010.mov": b"plate bytes",
    "incoming/show/sh0010.mov.json": b'{"shot": "sq010/sh0010"}',
}
SAMPLES = {p.name: json.loads(p.read_text()) for p in sorted(EVENTS.glob("*.json"))}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
]


@dataclass
class Hook:
    client: TestClient
    store: LocalStore
    layout: BucketLayout
    base: Path


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hook]:
    """One app and bucket for every example, so state builds up as it would in service."""
    base = tmp_path_factory.mktemp("events")
    store = LocalStore(base / BUCKET)
    for key, data in DROPPED.items():
        store.put(key, data)
    settings_ = make_settings(
        base, webhook_token=TOKEN, max_event_bytes=MAX_EVENT_BYTES, settle_s=0, notify_log=None
    )
    services = Services.build(settings_, store=store)
    fetch = CertFetcher()
    app = create_app(
        services, RecordingDispatcher(), verifier=SnsVerifier(fetch=fetch), fetch=fetch
    )
    with TestClient(app) as client:
        yield Hook(client, store, settings_.layout, base)


# -- what the layout allows ------------------------------------------------------------------

JOB_ID = r"[a-z0-9._-]{1,32}-[0-9a-f]{16}"


def _allowed(layout: BucketLayout) -> re.Pattern[str]:
    state = re.escape(layout.state)
    return re.compile(
        "|".join(
            (
                rf"{re.escape(layout.jobs)}{JOB_ID}\.json",
                rf"{re.escape(layout.active)}{JOB_ID}",
                rf"{re.escape(layout.index)}\d{{13}}-{JOB_ID}",
                rf"{state}keys/[0-9a-f]{{40}}",
                rf"{state}versions/[A-Za-z0-9._/-]+/v\d{{3,}}\.json",
            )
        )
    )


def assert_bucket_in_layout(hook: Hook) -> None:
    keys = {info.key for info in hook.store.list()}
    dropped = {k for k in keys if k.startswith(hook.layout.incoming)}
    assert dropped == set(DROPPED)
    assert all(hook.store.get(k).data == data for k, data in DROPPED.items())
    allowed = _allowed(hook.layout)
    assert [k for k in keys - dropped if not allowed.fullmatch(k)] == []
    # And on disk: no file outside the bucket's keys (and the store's own scratch space).
    internal = hook.store.root / ".localstore"
    files = {
        p.relative_to(hook.store.root).as_posix()
        for p in hook.base.rglob("*")
        if p.is_file() and not p.is_relative_to(internal)
    }
    assert files == keys


def post(hook: Hook, body: bytes, content_type: str | None, **headers: str) -> Counter[str]:
    """Send one body; check the answer and the bucket; say what became of it."""
    if content_type:
        headers["Content-Type"] = content_type
    response = hook.client.post("/events", content=body, headers={**AUTH, **headers})
    assert response.status_code < 500
    assert response.status_code in {200, 400, 403, 413, 415}
    if content_type is None or "json" not in content_type:
        assert response.status_code == 415 or "x-amz-sns-message-type" in headers
    assert_bucket_in_layout(hook)
    outcome = Counter([str(response.status_code)])
    if response.status_code == 200:
        body_ = response.json()
        outcome.update(claimed=len(body_["claimed"]), sidecars=len(body_["sidecars"]))
        outcome.update(
            "refused" if item["reason"].startswith("key refused") else "ignored"
            for item in body_["ignored"]
        )
    return outcome


# -- strategies ------------------------------------------------------------------------------

HOSTILE_CHARS = [
    "\x00",
    "\x1f",
    "\x7f",
    "\ud800",
    "\udfff",
    "\u202e",
    "\ufeff",
    "\\",
    "/",
    "%",
    "+",
]
TEXT = st.text(st.one_of(st.characters(), st.sampled_from(HOSTILE_CHARS)), max_size=12)
NAMES = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=12)


def weighted(*choices: tuple[int, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """One of the strategies, each drawn about as often as its weight says."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


SEGMENTS = weighted(
    (2, st.sampled_from(["sh0010", "A001 (take 2) + été", "show", "%2e%2e", "%00", "a+b"])),
    (2, NAMES),
    (1, TEXT),
    (1, st.sampled_from(["", ".", "..", "x" * 300])),
)
EXTENSIONS = weighted(
    (3, st.sampled_from([".mov", ".MP4", ".mxf"])),
    (1, st.just(".mov.json")),  # a sidecar
    (1, st.sampled_from([".txt", ".mov.part", ""])),
)
PLATE_KEYS = st.builds(
    lambda segments, ext: "incoming/" + "/".join(segments) + ext,
    st.lists(SEGMENTS, min_size=1, max_size=3),
    EXTENSIONS,
)
HOSTILE_KEYS = weighted(
    (4, PLATE_KEYS),
    (
        1,
        st.builds(
            lambda prefix, key: prefix + key.removeprefix("incoming/"),
            st.sampled_from(["incoming//", "", "/", ".ingest/jobs/", "published/", "../"]),
            PLATE_KEYS,
        ),
    ),
    (1, st.integers(1000, 1100).map(lambda n: "incoming/" + "a/" * (n // 2) + ".mov")),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT | HOSTILE_KEYS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
OBJECT_FIELDS = {  # besides the key: what a sender may get wrong
    "eTag": TEXT | st.none(),
    "etag": TEXT | st.none(),
    "size": st.integers() | st.just("12"),
    "sequencer": TEXT | st.from_regex(r"[0-9A-F]{1,40}", fullmatch=True),
    "versionId": TEXT,
    "version-id": TEXT,
}
SAMPLES_WITH_KEYS = sorted(n for n in SAMPLES if not n.startswith(("sns_", "s3_test")))
SHAPE_KEYS = st.sampled_from(["Records", "detail-type", "source", "Type", "TopicArn", "Event"])


def _paths(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*at, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return doc


def _object_of(doc: dict[str, Any]) -> dict[str, Any]:
    if "detail" in doc:
        return doc["detail"]["object"]  # type: ignore[no-any-return]
    return doc["Records"][0]["s3"]["object"]  # type: ignore[no-any-return]


def _for_this_bucket(doc: dict[str, Any]) -> dict[str, Any]:
    for path in _paths(doc):
        if path[-2:] == ("bucket", "name"):
            _set(doc, path, BUCKET)
    return doc


def _sample_with_key(name: str, key: str) -> dict[str, Any]:
    doc = _for_this_bucket(json.loads(json.dumps(SAMPLES[name])))
    _object_of(doc)["key"] = key
    return doc


@st.composite
def mutated_sample(draw: st.DrawFn) -> dict[str, Any]:
    """A real payload for this bucket with a new object key (form-encoded, as S3 and MinIO
    send it, or as it is), some of its object's fields changed, and now and then any of
    its values replaced by anything."""
    name = draw(st.sampled_from(SAMPLES_WITH_KEYS))
    doc = _for_this_bucket(json.loads(json.dumps(SAMPLES[name])))
    obj = _object_of(doc)
    key = draw(HOSTILE_KEYS)
    encoded = name != "eventbridge_object_created.json" and draw(st.booleans())
    obj["key"] = quote_plus(key, safe="/", errors="surrogatepass") if encoded else key
    fields = sorted(set(obj) & set(OBJECT_FIELDS))
    for field in draw(st.sets(st.sampled_from(fields), max_size=2)):
        obj[field] = draw(OBJECT_FIELDS[field])
    if draw(st.integers(0, 5)) == 0:  # now and then, anything anywhere
        path = draw(st.sampled_from(list(_paths(doc))[1:]))
        _set(doc, path, draw(JSON_VALUES))
    return doc


# -- the properties --------------------------------------------------------------------------
# Each test runs its examples, then checks that they reached the outcomes they are there
# to reach, so a strategy that stops producing them cannot pass unnoticed.


def test_random_json(hook: Hook) -> None:
    seen: Counter[str] = Counter()

    @BOUNDED
    @given(doc=st.dictionaries(SHAPE_KEYS | TEXT, JSON_VALUES, max_size=4), ascii=st.booleans())
    def run(doc: dict[str, Any], ascii: bool) -> None:
        # Without ASCII escapes a lone surrogate goes out as bytes no UTF-8 decoder takes.
        seen.update(
            post(
                hook,
                json.dumps(doc, ensure_ascii=ascii).encode("utf-8", "surrogatepass"),
                "application/json",
            )
        )

    run()
    assert seen["400"] > 0


def test_random_bytes_and_content_types(hook: Hook) -> None:
    seen: Counter[str] = Counter()

    @BOUNDED
    @given(body=st.binary(max_size=512), content_type=st.sampled_from(CONTENT_TYPES))
    def run(body: bytes, content_type: str | None) -> None:
        seen.update(post(hook, body, content_type))

    run()
    assert seen["400"] > 0 and seen["415"] > 0


def test_deep_nesting(hook: Hook) -> None:
    seen: Counter[str] = Counter()

    @BOUNDED
    @given(depth=st.integers(1, 3_000), opener=st.sampled_from(["[", '{"a":', '{"Records":']))
    @example(depth=33, opener="[")
    @example(depth=3_000, opener='{"Records":')
    def run(depth: int, opener: str) -> None:
        closer = "]" if opener == "[" else "}"
        body = '{"Records":' + opener * depth + "0" + closer * depth + "}"
        seen.update(post(hook, body.encode(), "application/json"))

    run()
    assert seen["400"] > 0 and seen["413"] > 0


def test_huge_bodies(hook: Hook) -> None:
    seen: Counter[str] = Counter()

    @settings(BOUNDED, max_examples=10)
    @given(size=st.integers(MAX_EVENT_BYTES - 64, MAX_EVENT_BYTES + 64))
    @example(size=MAX_EVENT_BYTES)
    @example(size=MAX_EVENT_BYTES + 1)
    def run(size: int) -> None:
        body = b'{"Records": "' + b"x" * (size - 15) + b'"}'
        outcome = post(hook, body, "application/json")
        assert outcome[str(413 if size > MAX_EVENT_BYTES else 400)] == 1
        seen.update(outcome)

    run()
    assert seen["400"] > 0 and seen["413"] > 0


# One of each outcome, whatever the random examples reach.
EVERY_OUTCOME = [
    _sample_with_key("s3_put.json", "incoming/show/sh0099+plate.mov"),  # claimed
    _sample_with_key("minio_webhook_put.json", "incoming%2Fshow%2Fsh0010.mov.json"),  # sidecar
    _sample_with_key("eventbridge_object_created.json", "incoming/a/../sh0010.mov"),  # refused
    _sample_with_key("s3_multipart_complete_encoded_key.json", "incoming/notes.txt"),  # ignored
]


def test_mutated_real_payloads(hook: Hook) -> None:
    seen: Counter[str] = Counter()

    @settings(BOUNDED, max_examples=100)
    @given(doc=mutated_sample(), content_type=st.sampled_from(CONTENT_TYPES[:2]))
    @example(doc=EVERY_OUTCOME[0], content_type="application/json")
    @example(doc=EVERY_OUTCOME[1], content_type="application/json")
    @example(doc=EVERY_OUTCOME[2], content_type="application/json")
    @example(doc=EVERY_OUTCOME[3], content_type="application/json")
    def run(doc: dict[str, Any], content_type: str) -> None:
        seen.update(post(hook, json.dumps(doc).encode(), content_type))

    run()
    assert seen["claimed"] > 0 and seen["refused"] > 0 and seen["ignored"] > 0
    assert seen["sidecars"] > 0 and seen["400"] > 0


def test_mutated_payloads_signed_by_sns(hook: Hook) -> None:
    """Inside a validly signed SNS envelope, as a subscription from S3 delivers them."""
    seen: Counter[str] = Counter()
    headers = {"x-amz-sns-message-type": "Notification"}

    @BOUNDED
    @given(doc=mutated_sample())
    @example(doc=EVERY_OUTCOME[0])
    @example(doc=EVERY_OUTCOME[2])
    def run(doc: dict[str, Any]) -> None:
        body = json.dumps(notification(doc)).encode()
        seen.update(post(hook, body, "text/plain; charset=UTF-8", **headers))

    run()
    assert seen["claimed"] > 0 and seen["refused"] > 0


SNS_SAMPLES = sorted(n for n in SAMPLES if n.startswith("sns_"))


def test_mutated_sns_envelopes(hook: Hook) -> None:
    seen: Counter[str] = Counter()
    headers = {"x-amz-sns-message-type": "Notification"}

    @BOUNDED
    @given(
        name=st.sampled_from(SNS_SAMPLES),
        field=st.sampled_from(sorted(SAMPLES[SNS_SAMPLES[0]])),
        value=JSON_VALUES,
    )
    @example(name=SNS_SAMPLES[0], field="Subject", value="altered")  # the signature fails
    @example(name=SNS_SAMPLES[0], field="Type", value=None)
    def run(name: str, field: str, value: Any) -> None:
        envelope = {**SAMPLES[name], field: value}
        body = json.dumps(envelope).encode()
        seen.update(post(hook, body, "text/plain; charset=UTF-8", **headers))

    run()
    assert seen["400"] > 0 and seen["403"] > 0
