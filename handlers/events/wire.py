"""What S3's event formats share: lenient models, the bucket and object they name, and
one error for a body that is not the format it claims."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from handlers.errors import EventFormatError
from ingest_service.jobs.source import ObjectRef
from ingest_service.validation import describe

M = TypeVar("M", bound=BaseModel)


class WireModel(BaseModel):
    # AWS adds fields over time; only the ones named here are read.
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class WireBucket(WireModel):
    name: str


class WireObject(WireModel):
    """An object as an event names it; each format aliases `etag` and `version_id` its way."""

    key: str
    size: int = 0
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None

    def ref(self, bucket: str, key: str) -> ObjectRef | None:
        """The object version, under `key` as decoded for its format; None when the event
        carries no etag, for then there is no upload to pin a job to."""
        if self.etag is None:
            return None
        return ObjectRef(bucket=bucket, key=key, **self.model_dump(exclude={"key"}))


def validated(model: type[M], doc: dict[str, Any], what: str) -> M:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise EventFormatError(f"not a valid {what}: {describe(exc, limit=1)}") from exc
