"""Per-plate options from a `<plate>.json` sidecar dropped beside the plate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest_service.errors import SidecarInvalidError
from ingest_service.jobs.naming import safe_segment
from ingest_service.settings import DepthBackend, FrameFormat, MasksBackend
from ingest_service.validation import describe

MAX_SIDECAR_BYTES = 64 * 1024


class SourceRange(BaseModel):
    """Frames of the source to publish, counted from 1 (the clip's first frame), inclusive."""

    first: int = Field(ge=1)
    last: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> SourceRange:
        if self.last < self.first:
            raise ValueError("frame_range.last must not be before frame_range.first")
        return self


class PlateOptions(BaseModel):
    """What an artist or upload tool may say about one plate. Unknown keys are refused,
    so a typo is an error, not a silently ignored wish."""

    model_config = ConfigDict(extra="forbid")

    shot: str | None = Field(default=None, max_length=200)
    stages: list[str] | None = Field(default=None, max_length=16)
    frame_range: SourceRange | None = None
    first_frame: int | None = Field(default=None, ge=0, le=9_999_999)
    frame_format: FrameFormat | None = None
    mask_prompts: list[str] | None = Field(default=None, min_length=1, max_length=16)
    depth_backend: DepthBackend | None = None
    masks_backend: MasksBackend | None = None
    focal_length_mm: float | None = Field(default=None, gt=0, lt=5000)
    sensor_width_mm: float | None = Field(default=None, gt=0, lt=200)

    @model_validator(mode="after")
    def _clean(self) -> PlateOptions:
        if self.shot is not None:
            parts = [safe_segment(p) for p in self.shot.split("/")]
            self.shot = "/".join(p for p in parts if p not in ("", ".", "..")) or None
            if self.shot is None:
                raise ValueError("shot has no usable characters (letters, digits, . _ -)")
        if self.mask_prompts is not None:
            prompts = [p.strip() for p in self.mask_prompts]
            if any(not p or len(p) > 200 for p in prompts):
                raise ValueError("each mask prompt must be 1 to 200 characters")
            self.mask_prompts = prompts
        return self


def parse_sidecar(data: bytes, key: str) -> PlateOptions:
    if len(data) > MAX_SIDECAR_BYTES:
        raise SidecarInvalidError(f"{key}: sidecar larger than {MAX_SIDECAR_BYTES} bytes")
    try:
        return PlateOptions.model_validate_json(data)
    except ValidationError as exc:
        raise SidecarInvalidError(f"{key}: invalid sidecar: {describe(exc, root='file')}") from exc
