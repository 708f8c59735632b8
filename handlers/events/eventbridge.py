"""EventBridge events from S3 ("Object Created"): keys arrive as they are, not encoded."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from handlers.events.notice import Notice, Parsed, Skipped
from handlers.events.wire import WireBucket, WireModel, WireObject, validated


class EventBridgeObject(WireObject):
    version_id: str | None = Field(default=None, alias="version-id")


class EventBridgeDetail(WireModel):
    bucket: WireBucket
    object: EventBridgeObject
    reason: str | None = None


class EventBridgeEvent(WireModel):
    detail_type: str = Field(alias="detail-type")
    source: Literal["aws.s3"]
    detail: EventBridgeDetail


def parse_eventbridge(doc: dict[str, Any]) -> Parsed:
    event = validated(EventBridgeEvent, doc, "EventBridge S3 event")
    obj = event.detail.object
    if event.detail_type != "Object Created":
        return Parsed(skipped=[Skipped(obj.key, f"not a create event ({event.detail_type})")])
    ref = obj.ref(event.detail.bucket.name, obj.key)
    if ref is None:
        return Parsed(skipped=[Skipped(obj.key, "event carries no etag")])
    name = f"ObjectCreated:{event.detail.reason or 'Put'}"
    return Parsed(notices=[Notice(ref, name, "eventbridge")])
