"""The one shape every trigger (webhook, SNS, EventBridge, MinIO, poller, CLI) is normalised to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from storage import ObjectInfo


class ObjectRef(BaseModel):
    """One version of one object in one bucket, as a trigger saw it."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None
    sequencer: str | None = None

    @classmethod
    def of(cls, bucket: str, info: ObjectInfo) -> ObjectRef:
        """The object as a listing or a HEAD of the store saw it."""
        return cls(
            bucket=bucket, key=info.key, etag=info.etag, size=info.size, version_id=info.version_id
        )

    @field_validator("etag")
    @classmethod
    def _normalise_etag(cls, value: str) -> str:
        # Notifications send the etag bare, HEAD and LIST quote it, EventBridge lower-cases it.
        return value.strip('"').lower()
