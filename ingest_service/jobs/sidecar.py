"""Reading a plate's `<plate>.json` sidecar: the per-plate options (`PlateOptions`)."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from ingest_service.errors import SidecarInvalidError
from ingest_service.jobs.options import PlateOptions
from ingest_service.validation import describe

MAX_SIDECAR_BYTES = 64 * 1024


def parse_sidecar(data: bytes, key: str) -> BaseModel:
    if len(data) > MAX_SIDECAR_BYTES:
        raise SidecarInvalidError(f"{key}: sidecar larger than {MAX_SIDECAR_BYTES} bytes")
    try:
        return PlateOptions.model_validate_json(data)
    except ValidationError as exc:
        raise SidecarInvalidError(f"{key}: invalid sidecar: {describe(exc, root='file')}") from exc
