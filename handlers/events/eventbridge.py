"""EventBridge events from S3 ("Object Created"): keys arrive as they are, not encoded."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.errors import EventFormatError
from handlers.events.notice import Notice, Parsed, Skipped
from ingest_service.jobs.source import ObjectRef
from ingest_service.validation import describe


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class EventBridgeObject(_Model):
    key: str
    size: int = 0
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class EventBridgeBucket(_Model):
    name: str


class EventBridgeDetail(_Model):
    bucket: EventBridgeBucket
    object: EventBridgeObject
    reason: str | None = None


class EventBridgeEvent(_Model):
    detail_type: str = Field(alias="detail-type")
    source: Literal["aws.s3"]
    detail: EventBridgeDetail


def parse_eventbridge(doc: dict[str, Any]) -> Parsed:
    try:
        event = EventBridgeEvent.model_validate(doc)
    except ValidationError as exc:
        raise EventFormatError(
            f"not a valid EventBridge S3 event: {describe(exc, limit=1)}"
        ) from exc
    obj = event.detail.object
    if event.detail_type != "Object Created":
        return Parsed(skipped=[Skipped(obj.key, f"not a create event ({event.detail_type})")])
    if obj.etag is None:
        return Parsed(skipped=[Skipped(obj.key, "event carries no etag")])
    ref = ObjectRef(
        bucket=event.detail.bucket.name,
        key=obj.key,
        etag=obj.etag,
        size=obj.size,
        version_id=obj.version_id,
        sequencer=obj.sequencer,
    )
    name = f"ObjectCreated:{event.detail.reason or 'Put'}"
    return Parsed(notices=[Notice(ref, name, "eventbridge")])
