"""One settings object for the whole service (env prefix `INGEST_`); tests build it explicitly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest_service.costs import CPU_CORE_HOUR_USD, GPU_HOUR_USD, MEMORY_GIB_HOUR_USD, Pricing
from ingest_service.errors import SettingsError
from ingest_service.jobs.layout import BucketLayout
from ingest_service.jobs.options import JobDefaults, JobOptions


def usable_cpus() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Settings(BaseSettings, JobDefaults):
    """Where the bucket is, what to run, how to notify. Secrets are `SecretStr`: never logged."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # Where plates arrive and results go.
    store: str = "bucket"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    incoming_prefix: str = BucketLayout.incoming
    published_prefix: str = BucketLayout.published
    state_prefix: str = BucketLayout.state

    # What runs, and how: the job options (`JobDefaults`) are settings too; these are
    # this machine's own.
    workers: int = Field(default_factory=lambda: usable_cpus(), ge=1, le=256)

    # Models: weights come from this folder only (a Modal Volume in production); the hub
    # is never asked at run time.
    models_dir: Path = Path("models")
    model_device: Literal["auto", "cpu", "cuda"] = "auto"
    model_batch_size: int = Field(default=8, ge=1, le=256)

    # Decoding: the largest frame a plate may have, read from its header before any decode.
    # Every 8K camera format and 8192x8192 VR plates fit; a 16K frame would cost gigabytes.
    max_frame_pixels: int = Field(default=8192 * 8192, ge=1)
    max_frame_side: int = Field(default=16384, ge=1)

    # Jobs.
    lease_seconds: float = Field(default=300.0, gt=1.0)
    max_attempts: int = Field(default=3, ge=1, le=100)
    # Stage time a job may use over all its attempts; past it, no further stage starts.
    max_job_seconds: float = Field(default=12 * 3600.0, gt=0)

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
    # A job dispatched but not started after this long (its worker lost, or still queued or
    # cold-starting) is dispatched again. Unset: two poll intervals, and where a schedule
    # runs the poller, the poll interval is its period.
    dispatch_grace_s: float | None = Field(default=None, gt=0)
    settle_s: float = Field(default=10.0, ge=0)
    serve_workers: int = Field(default=1, ge=1, le=64)

    # Cost estimate: Modal's published prices per physical core-hour, per GiB-hour of
    # reserved memory and per GPU-hour by device (`costs.py` has their date and source).
    cpu_core_hour_usd: float = Field(default=CPU_CORE_HOUR_USD, ge=0)
    memory_gib_hour_usd: float = Field(default=MEMORY_GIB_HOUR_USD, ge=0)
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
        return self

    @property
    def pricing(self) -> Pricing:
        return Pricing(self.cpu_core_hour_usd, dict(self.gpu_hour_usd), self.memory_gib_hour_usd)

    def for_job(self, options: JobOptions) -> Settings:
        """This machine's settings with the job's options, frozen at claim, laid over
        them: what a stage runs with, wherever and whenever it runs."""
        return self.model_copy(update=options.model_dump(include=set(JobDefaults.model_fields)))

    @property
    def layout(self) -> BucketLayout:
        return BucketLayout(self.incoming_prefix, self.published_prefix, self.state_prefix)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (the CLI's flags)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc
