"""S3 event notifications (`Records[]`), as S3 sends them and as MinIO imitates them."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.errors import EventFormatError
from handlers.events.notice import Notice, Parsed, Skipped
from ingest_service.jobs.source import ObjectRef
from ingest_service.validation import describe


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class S3Object(_Model):
    key: str
    size: int = 0
    etag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None


class S3Bucket(_Model):
    name: str


class S3Entity(_Model):
    bucket: S3Bucket
    object: S3Object


class S3EventRecord(_Model):
    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    s3: S3Entity


class S3Notification(_Model):
    records: list[S3EventRecord] = Field(alias="Records")


def parse_s3_notification(doc: dict[str, Any]) -> Parsed:
    try:
        notification = S3Notification.model_validate(doc)
    except ValidationError as exc:
        raise EventFormatError(
            f"not a valid S3 event notification: {describe(exc, limit=1)}"
        ) from exc
    parsed = Parsed()
    for record in notification.records:
        obj = record.s3.object
        # Both S3 and MinIO form-encode keys in notifications: '+' is a space, %2B a '+',
        # and older MinIO encodes '/' as %2F.
        key = unquote_plus(obj.key)
        if obj.etag is None:
            parsed.skipped.append(Skipped(key, f"{record.event_name} carries no etag"))
            continue
        source = "minio" if record.event_source.startswith("minio") else "s3"
        ref = ObjectRef(
            bucket=record.s3.bucket.name,
            key=key,
            etag=obj.etag,
            size=obj.size,
            version_id=obj.version_id,
            sequencer=obj.sequencer,
        )
        # MinIO keeps the "s3:" prefix on event names; S3 does not.
        parsed.notices.append(Notice(ref, record.event_name.removeprefix("s3:"), source))
    return parsed
