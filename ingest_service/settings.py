"""One settings object for the whole service (env prefix `INGEST_`); tests build it explicitly."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest_service.costs import GPU_HOUR_USD, Pricing
from ingest_service.errors import SettingsError
from ingest_service.jobs.layout import BucketLayout


class FrameFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    EXR = "exr"


def usable_cpus() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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


class Settings(BaseSettings):
    """Where the bucket is, what to run, how to notify. Secrets are `SecretStr`: never logged."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # Where plates arrive and results go.
    store: str = "bucket"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    incoming_prefix: str = "incoming/"
    published_prefix: str = "published/"
    state_prefix: str = ".ingest/"

    # What runs, and how.
    stages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["probe", "frames", "camera", "depth"]
    )
    frame_format: FrameFormat = FrameFormat.PNG
    first_frame: int = Field(default=1, ge=0, le=9_999_999)
    png_compression: int = Field(default=3, ge=0, le=9)
    png_filter: PngFilter = PngFilter.UP
    jpeg_quality: int = Field(default=95, ge=1, le=100)
    thumbnail_width: int = Field(default=480, ge=16, le=4096)
    workers: int = Field(default_factory=lambda: usable_cpus(), ge=1, le=256)

    # Camera solve: resolution; point tracks (or SIFT features, the fallback) and the lens.
    camera_max_image_size: int = Field(default=1024, ge=256, le=8192)
    camera_frontend: Literal["tracks", "features"] = "tracks"
    camera_track_points: int = Field(default=800, ge=100, le=20000)
    camera_distortion: bool = True  # estimate radial distortion when the lens shows it
    camera_max_features: int = Field(default=2048, ge=256, le=32768)
    camera_overlap: int = Field(default=10, ge=2, le=100)
    camera_mapper: Literal["global", "incremental"] = "global"
    camera_max_keyframes: int = Field(default=200, ge=3, le=100_000)

    # Depth: which backend, and how its output is made metric in the camera's units.
    depth_backend: DepthBackend = DepthBackend.CLASSICAL
    depth_max_image_size: int = Field(default=480, ge=64, le=4096)  # classical: long side
    depth_model: str = "depth-anything-v2-small"  # a folder under models_dir
    depth_keep_raw: bool = False  # also publish the model's unaligned inverse depth
    # How much the alignment may change from one frame to the next, relative, before
    # a frame's own points must say so: the temporal prior that stops flicker.
    depth_temporal_tolerance: float = Field(default=0.01, gt=0, le=10)

    # Masks: which backend, what to look for (SAM 3 honours prompts; classical cannot).
    masks_backend: MasksBackend = MasksBackend.CLASSICAL
    mask_prompts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["person"])
    masks_model: str = "sam3"
    masks_chunk_frames: int = Field(default=120, ge=8, le=10_000)
    masks_chunk_overlap: int = Field(default=8, ge=1, le=1000)

    # Models: weights come from this folder only (a Modal Volume in production); the hub
    # is never asked at run time.
    models_dir: Path = Path("models")
    model_device: Literal["auto", "cpu", "cuda"] = "auto"
    model_batch_size: int = Field(default=8, ge=1, le=256)
    model_chunk_frames: int = Field(default=96, ge=1, le=100_000)  # per GPU worker call

    # Jobs.
    lease_seconds: float = Field(default=300.0, gt=1.0)
    max_attempts: int = Field(default=3, ge=1, le=100)

    # Notifications: a signed webhook and/or SNS; a local log when neither is set.
    notify_url: AnyHttpUrl | None = None
    notify_signing_key: SecretStr | None = None
    notify_sns_topic_arn: str | None = None
    notify_log: Path | None = None
    notify_timeout_s: float = Field(default=10.0, gt=0)
    notify_attempts: int = Field(default=5, ge=1, le=20)

    # The ways in: webhook, poller, `serve`.
    webhook_token: SecretStr | None = None
    max_event_bytes: int = Field(default=256 * 1024, ge=1024)
    sns_topic_arns: Annotated[list[str], NoDecode] = Field(default_factory=list)
    sns_max_age_s: float = Field(default=3600.0, gt=0)
    poll_interval_s: float = Field(default=30.0, gt=0)
    settle_s: float = Field(default=10.0, ge=0)
    serve_workers: int = Field(default=1, ge=1, le=64)

    # Cost estimate: Modal's published CPU price, per physical core-hour, and GPU prices
    # per hour by device (see `costs.py` for the table's date and source).
    cpu_core_hour_usd: float = Field(default=0.0473, ge=0)
    gpu_hour_usd: dict[str, float] = Field(default_factory=lambda: dict(GPU_HOUR_USD))

    @field_validator("stages", "sns_topic_arns", "mask_prompts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [s.strip() for s in value.split(",") if s.strip()]
        return value

    @field_validator("incoming_prefix", "published_prefix", "state_prefix")
    @classmethod
    def _folder_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or ".." in value.split("/"):
            raise ValueError("a prefix must be a non-empty folder path without '..'")
        return value + "/"

    @model_validator(mode="after")
    def _check(self) -> Self:
        prefixes = [self.incoming_prefix, self.published_prefix, self.state_prefix]
        for a in prefixes:
            for b in prefixes:
                if a is not b and b.startswith(a):
                    raise ValueError(f"prefixes must not nest: {a!r} contains {b!r}")
        if self.environment == "production" and self.notify_url and not self.notify_signing_key:
            raise ValueError("INGEST_NOTIFY_SIGNING_KEY is required for a webhook in production")
        if (
            self.notify_url
            and self.notify_url.scheme != "https"
            and self.environment == "production"
        ):
            raise ValueError("INGEST_NOTIFY_URL must be https in production")
        token = self.webhook_token
        if self.environment == "production" and token and len(token.get_secret_value()) < 16:
            raise ValueError("INGEST_WEBHOOK_TOKEN must be at least 16 characters in production")
        if self.masks_chunk_overlap * 2 > self.masks_chunk_frames:
            raise ValueError("masks_chunk_overlap must be at most half of masks_chunk_frames")
        return self

    @property
    def pricing(self) -> Pricing:
        return Pricing(self.cpu_core_hour_usd, dict(self.gpu_hour_usd))

    @property
    def layout(self) -> BucketLayout:
        return BucketLayout(self.incoming_prefix, self.published_prefix, self.state_prefix)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (the CLI's flags)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc
