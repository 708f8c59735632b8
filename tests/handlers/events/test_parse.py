"""Every sample payload, normalised to the same `ObjectRef` shape with keys decoded right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.errors import EventFormatError
from handlers.events.parse import Shape, load_json, parse_object_events, shape_of
from handlers.events.sns import parse_sns

EVENTS = Path(__file__).resolve().parents[2] / "events"


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_s3_put_key_is_form_decoded() -> None:
    doc = event("s3_put.json")
    parsed = parse_object_events(doc, shape_of(doc, {}))
    [notice] = parsed.notices
    assert notice.ref.key == "incoming/show_abc/sq010/sh0040 plate v1.mov"
    assert notice.ref.bucket == "studio-plates"
    assert notice.ref.etag == "9b2cf535f27731c974343645a3985328"
    assert notice.ref.version_id == "3HL4kqtJvjVBH40Nrjfkd"
    assert notice.ref.sequencer == "0065A1B2C3D4E5F601"
    assert (notice.event, notice.source) == ("ObjectCreated:Put", "s3")


def test_multipart_key_keeps_literal_plus_and_unicode() -> None:
    doc = event("s3_multipart_complete_encoded_key.json")
    [notice] = parse_object_events(doc, shape_of(doc, {})).notices
    assert notice.ref.key == "incoming/A001/A001C003_261121_R1AB (take 2) + été.mxf"
    assert notice.ref.etag == "d41d8cd98f00b204e9800998ecf8427e-640"
    assert notice.ref.version_id is None
    assert notice.event == "ObjectCreated:CompleteMultipartUpload"


def test_eventbridge_key_is_taken_as_is() -> None:
    doc = event("eventbridge_object_created.json")
    assert shape_of(doc, {}) is Shape.EVENTBRIDGE
    [notice] = parse_object_events(doc, Shape.EVENTBRIDGE).notices
    assert notice.ref.key == "incoming/show_abc/sq010/sh0050 plate v1.mov"
    assert notice.ref.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    assert notice.ref.size == 73400320
    assert notice.ref.etag == "b1946ac92492d2347c6235b4d2611184"
    assert notice.ref.sequencer == "617f08299329d189"
    assert (notice.event, notice.source) == ("ObjectCreated:PutObject", "eventbridge")


def test_minio_webhook_prefix_and_encoded_slash() -> None:
    doc = event("minio_webhook_put.json")
    [notice] = parse_object_events(doc, shape_of(doc, {})).notices
    assert notice.ref.key == "incoming/sh0060_plate.mp4"
    assert notice.ref.bucket == "plates"
    assert (notice.event, notice.source) == ("ObjectCreated:Put", "minio")


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
