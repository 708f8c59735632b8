"""The options a job runs with, each declared once, here.

`JobDefaults` holds the options with a service-wide default: `Settings` inherits them, so
each is also an `INGEST_<NAME>` setting. `JobOptions` adds what only a plate can say
(its shot, frame range, lens) and where its sidecar came from. Options a plate's sidecar
may set carry the `PLATE` marker; `PlateOptions`, the sidecar's model, is derived from
those. At claim, settings and sidecar are merged once into the job record's options:
stages read only the record, so a resumed job, or a worker elsewhere with another
environment, runs as the job started.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic_settings import NoDecode

from ingest_service.jobs.naming import safe_segment


class FrameFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    EXR = "exr"


class PngFilter(StrEnum):
    """libpng row filter. One fixed filter encodes about 2x faster than trying all five
    per row ("adaptive") for a few percent more bytes."""

    UP = "up"
    SUB = "sub"
    PAETH = "paeth"
    NONE = "none"
    ADAPTIVE = "adaptive"


class DepthBackend(StrEnum):
    CLASSICAL = "classical"  # plane-sweep stereo from the solved cameras; no weights
    DEPTH_ANYTHING = "depth-anything"  # Depth Anything V2, aligned to the camera solve


class MasksBackend(StrEnum):
    CLASSICAL = "classical"  # independently moving objects; no weights, ignores prompts
    SAM3 = "sam3"  # SAM 3 video: text prompts, tracked instances


CameraMapper = Literal["global", "incremental"]


class _Plate:
    """Marks an option that a plate's sidecar may set too."""

    def __repr__(self) -> str:
        return "PLATE"


PLATE = _Plate()


class SourceRange(BaseModel):
    """Frames of the source to publish, counted from 1 (the clip's first frame), inclusive."""

    first: int = Field(ge=1)
    last: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> SourceRange:
        if self.last < self.first:
            raise ValueError("frame_range.last must not be before frame_range.first")
        return self


def _shot(value: str) -> str:
    parts = [safe_segment(p) for p in value.split("/")]
    shot = "/".join(p for p in parts if p not in ("", ".", ".."))
    if not shot:
        raise ValueError("shot has no usable characters (letters, digits, . _ -)")
    return shot


def _prompt(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 200:
        raise ValueError("each mask prompt must be 1 to 200 characters")
    return value


Shot = Annotated[str, Field(max_length=200), AfterValidator(_shot)]
Prompt = Annotated[str, AfterValidator(_prompt)]


class JobDefaults(BaseModel):
    """Options with a service-wide default (each an `INGEST_<NAME>` setting)."""

    # What runs, and how the frames are written.
    stages: Annotated[list[str], NoDecode, PLATE, Field(max_length=16)] = Field(
        default_factory=lambda: ["probe", "frames", "camera", "depth", "masks"]
    )
    frame_format: Annotated[FrameFormat, PLATE] = FrameFormat.PNG
    first_frame: Annotated[int, PLATE, Field(ge=0, le=9_999_999)] = 1
    png_compression: int = Field(default=3, ge=0, le=9)
    png_filter: PngFilter = PngFilter.UP
    jpeg_quality: int = Field(default=95, ge=1, le=100)
    thumbnail_width: int = Field(default=480, ge=16, le=4096)

    # Camera solve: resolution; point tracks (or SIFT features, the fallback) and the lens.
    camera_max_image_size: int = Field(default=1024, ge=256, le=8192)
    camera_frontend: Literal["tracks", "features"] = "tracks"
    camera_track_points: int = Field(default=800, ge=100, le=20000)
    camera_distortion: bool = True  # estimate radial distortion when the lens shows it
    camera_max_features: int = Field(default=2048, ge=256, le=32768)
    camera_overlap: int = Field(default=10, ge=2, le=100)
    camera_mapper: CameraMapper = "global"
    camera_max_keyframes: int = Field(default=200, ge=3, le=100_000)

    # Depth: which backend, and how its output is made metric in the camera's units.
    depth_backend: Annotated[DepthBackend, PLATE] = DepthBackend.CLASSICAL
    depth_max_image_size: int = Field(default=480, ge=64, le=4096)  # classical: long side
    depth_model: str = "depth-anything-v2-small"  # a folder under models_dir
    depth_keep_raw: bool = False  # also publish the model's unaligned inverse depth
    # How much the alignment may change from one frame to the next, relative, before
    # a frame's own points must say so: the temporal prior that stops flicker.
    depth_temporal_tolerance: float = Field(default=0.01, gt=0, le=10)

    # Masks: which backend, what to look for (SAM 3 honours prompts; classical cannot).
    masks_backend: Annotated[MasksBackend, PLATE] = MasksBackend.CLASSICAL
    mask_prompts: Annotated[list[Prompt], NoDecode, PLATE, Field(min_length=1, max_length=16)] = (
        Field(default_factory=lambda: ["person"])
    )
    masks_model: str = "sam3"
    masks_chunk_frames: int = Field(default=120, ge=8, le=10_000)
    masks_chunk_overlap: int = Field(default=8, ge=1, le=1000)
    model_chunk_frames: int = Field(default=96, ge=1, le=100_000)  # per GPU worker call

    @model_validator(mode="after")
    def _chunks_overlap_less_than_half(self) -> Self:
        if self.masks_chunk_overlap * 2 > self.masks_chunk_frames:
            raise ValueError("masks_chunk_overlap must be at most half of masks_chunk_frames")
        return self


class JobOptions(JobDefaults):
    """The options one job runs with, frozen in its record at claim."""

    shot: Annotated[Shot | None, PLATE] = None
    frame_range: Annotated[SourceRange | None, PLATE] = None
    focal_length_mm: Annotated[float | None, PLATE, Field(gt=0, lt=5000)] = None
    sensor_width_mm: Annotated[float | None, PLATE, Field(gt=0, lt=200)] = None
    sidecar_key: str | None = None
    sidecar_error: str | None = None

    @classmethod
    def from_defaults(cls, defaults: JobDefaults) -> JobOptions:
        """A job's options before its sidecar: the defaults (settings) as they are now."""
        return cls.model_validate(defaults.model_dump(include=set(JobDefaults.model_fields)))

    def with_plate(self, plate: BaseModel, sidecar_key: str) -> JobOptions:
        """These options, overridden by what a plate's sidecar says."""
        values = self.model_dump()
        values.update(plate.model_dump(exclude_none=True), sidecar_key=sidecar_key)
        return JobOptions.model_validate(values)


_ANNOTATED: Any = Annotated  # subscripted at run time with each option's own declaration


def _plate_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, info in JobOptions.model_fields.items():
        if PLATE in info.metadata:
            # The option's own type and constraints, or nothing at all.
            fields[name] = (_ANNOTATED[(info.annotation, *info.metadata)] | None, None)
    return fields


# What an artist or upload tool may say about one plate: every option marked PLATE,
# none required. Unknown keys are refused, so a typo is an error, not an ignored wish.
PlateOptions: type[BaseModel] = create_model(
    "PlateOptions",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Per-plate options from a `<plate>.json` sidecar dropped beside the plate.",
    **_plate_fields(),
)
