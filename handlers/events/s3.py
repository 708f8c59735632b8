"""S3 event notifications (`Records[]`), as S3 sends them and as MinIO imitates them."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from pydantic import Field

from handlers.events.notice import Notice, Parsed, Skipped
from handlers.events.wire import WireBucket, WireModel, WireObject, validated


class S3Object(WireObject):
    etag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")


class S3Entity(WireModel):
    bucket: WireBucket
    object: S3Object


class S3EventRecord(WireModel):
    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    s3: S3Entity


class S3Notification(WireModel):
    records: list[S3EventRecord] = Field(alias="Records")


def parse_s3_notification(doc: dict[str, Any]) -> Parsed:
    notification = validated(S3Notification, doc, "S3 event notification")
    parsed = Parsed()
    for record in notification.records:
        # Both S3 and MinIO form-encode keys in notifications: '+' is a space, %2B a '+',
        # and older MinIO encodes '/' as %2F.
        key = unquote_plus(record.s3.object.key)
        ref = record.s3.object.ref(record.s3.bucket.name, key)
        if ref is None:
            parsed.skipped.append(Skipped(key, f"{record.event_name} carries no etag"))
            continue
        source = "minio" if record.event_source.startswith("minio") else "s3"
        # MinIO keeps the "s3:" prefix on event names; S3 does not.
        parsed.notices.append(Notice(ref, record.event_name.removeprefix("s3:"), source))
    return parsed
