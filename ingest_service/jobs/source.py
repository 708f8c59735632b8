"""The one shape every trigger (webhook, SNS, EventBridge, MinIO, poller, CLI) is normalised to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator


class ObjectRef(BaseModel):
    """One version of one object in one bucket, as a trigger saw it."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None
    sequencer: str | None = None

    @field_validator("etag")
    @classmethod
    def _normalise_etag(cls, value: str) -> str:
        # Notifications send the etag bare, HEAD and LIST quote it, EventBridge lower-cases it.
        return value.strip('"').lower()
