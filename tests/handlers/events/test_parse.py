"""Every sample payload, normalised to the same `ObjectRef` shape with keys decoded right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.errors import EventFormatError
from handlers.events.notice import Notice, Parsed
from handlers.events.parse import Shape, load_json, parse_object_events, shape_of
from handlers.events.sns import parse_sns
from ingest_service.jobs.source import ObjectRef

EVENTS = Path(__file__).resolve().parents[2] / "events"


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def ref(bucket: str, key: str, etag: str, size: int, version: str | None, seq: str) -> ObjectRef:
    return ObjectRef(
        bucket=bucket, key=key, etag=etag, size=size, version_id=version, sequencer=seq
    )


@pytest.mark.parametrize(
    ("name", "shape", "notice"),
    [
        # S3 form-encodes keys: '+' is a space.
        (
            "s3_put.json",
            Shape.S3,
            Notice(
                ref(
                    "studio-plates",
                    "incoming/show_abc/sq010/sh0040 plate v1.mov",
                    "9b2cf535f27731c974343645a3985328",
                    48213664,
                    "3HL4kqtJvjVBH40Nrjfkd",
                    "0065A1B2C3D4E5F601",
                ),
                "ObjectCreated:Put",
                "s3",
            ),
        ),
        # A literal '+' arrives as %2B, and unicode percent-encoded; no version id.
        (
            "s3_multipart_complete_encoded_key.json",
            Shape.S3,
            Notice(
                ref(
                    "studio-plates",
                    "incoming/A001/A001C003_261121_R1AB (take 2) + été.mxf",
                    "d41d8cd98f00b204e9800998ecf8427e-640",
                    5368709120,
                    None,
                    "0065A1B2C3D4E5F7A2",
                ),
                "ObjectCreated:CompleteMultipartUpload",
                "s3",
            ),
        ),
        # EventBridge keys are taken as they are.
        (
            "eventbridge_object_created.json",
            Shape.EVENTBRIDGE,
            Notice(
                ref(
                    "studio-plates",
                    "incoming/show_abc/sq010/sh0050 plate v1.mov",
                    "b1946ac92492d2347c6235b4d2611184",
                    73400320,
                    "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                    "617f08299329d189",
                ),
                "ObjectCreated:PutObject",
                "eventbridge",
            ),
        ),
        # MinIO keeps "s3:" on event names and encodes '/' as %2F.
        (
            "minio_webhook_put.json",
            Shape.S3,
            Notice(
                ref(
                    "plates",
                    "incoming/sh0060_plate.mp4",
                    "5d41402abc4b2a76b9719d911017c592",
                    10485760,
                    None,
                    "1797C2F3A1B2C3D5",
                ),
                "ObjectCreated:Put",
                "minio",
            ),
        ),
    ],
)
def test_each_sample_becomes_one_notice_with_its_key_decoded(
    name: str, shape: Shape, notice: Notice
) -> None:
    doc = event(name)
    assert shape_of(doc, {}) is shape
    assert parse_object_events(doc, shape) == Parsed(notices=[notice])


def test_s3_test_event_is_recognised() -> None:
    doc = event("s3_test_event.json")
    assert shape_of(doc, {}) is Shape.S3_TEST
    assert parse_object_events(doc, Shape.S3_TEST).notices == []


def test_sns_envelopes_are_recognised_by_header_or_content() -> None:
    doc = event("sns_notification_s3_put.json")
    assert shape_of(doc, {"x-amz-sns-message-type": "Notification"}) is Shape.SNS
    assert shape_of(doc, {}) is Shape.SNS
    envelope = parse_sns(doc)
    inner = json.loads(envelope.message)
    [notice] = parse_object_events(inner, shape_of(inner, {})).notices
    assert notice.ref.key == "incoming/show_abc/sq010/sh0040 plate v1.mov"
    confirmation = parse_sns(event("sns_subscription_confirmation.json"))
    assert confirmation.subscribe_url is not None
    assert confirmation.subscribe_url.startswith("https://sns.us-east-1.amazonaws.com/")


def test_delete_and_etagless_records_are_not_claims() -> None:
    doc = event("s3_put.json")
    record = doc["Records"][0]
    record["eventName"] = "ObjectRemoved:Delete"
    del record["s3"]["object"]["eTag"]
    parsed = parse_object_events(doc, Shape.S3)
    assert parsed.notices == []
    assert "no etag" in parsed.skipped[0].reason


def test_eventbridge_deletes_and_etagless_objects_are_not_claims() -> None:
    deleted = event("eventbridge_object_created.json")
    deleted["detail-type"] = "Object Deleted"
    etagless = event("eventbridge_object_created.json")
    del etagless["detail"]["object"]["etag"]
    key = "incoming/show_abc/sq010/sh0050 plate v1.mov"
    for doc, reason in [(deleted, "not a create event"), (etagless, "no etag")]:
        parsed = parse_object_events(doc, Shape.EVENTBRIDGE)
        assert parsed.notices == []
        [skipped] = parsed.skipped
        assert skipped.key == key
        assert reason in skipped.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"hello": "world"}', "unrecognised event"),
        (b'{"Records": [{"eventName": "x"}]}', "not a valid S3 event notification"),
        (b'{"Type": "Notification", "TopicArn": "arn"}', "not a valid SNS message"),
        (b'{"detail-type": "Object Created", "source": "aws.s3"}', "not a valid EventBridge"),
    ],
)
def test_malformed_bodies_say_why(body: bytes, message: str) -> None:
    with pytest.raises(EventFormatError, match=message):
        doc = load_json(body)
        shape = shape_of(doc, {})
        if shape is Shape.SNS:
            parse_sns(doc)
        else:
            parse_object_events(doc, shape)
