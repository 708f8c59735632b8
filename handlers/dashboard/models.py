"""The dashboard API's response models: a job as the list shows it, and as its page does."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ingest_service.jobs.record import Delivery
from ingest_service.jobs.results import FrameRange
from ingest_service.notify.verdict import CameraVerdict, Review


class StageChip(BaseModel):
    name: str
    status: Literal["done", "failed", "running", "pending"]
    duration_s: float | None
    error: str | None


class JobSummary(BaseModel):
    """A job as the list and its live updates show it: every planned stage in order."""

    job_id: str
    state: str
    key: str
    size: int
    shot: str | None
    version: str | None
    created_at: str
    updated_at: str
    attempt: int
    max_attempts: int
    retry_possible: bool = Field(description="failed for good: a retry is the operator's call")
    current_stage: str | None
    error: str | None
    stages: list[StageChip]
    camera_review: Review | None = Field(
        description='the camera solve\'s verdict, "ok" or reasons; null if it did not run'
    )


class JobsPage(BaseModel):
    jobs: list[JobSummary]
    page: int
    per_page: int
    total: int


class Source(BaseModel):
    """The plate: where it is, and what the probe found (null before it ran)."""

    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None
    codec: str | None = None
    container: str | None = None
    width: int | None = None
    height: int | None = None
    fps: str | None = Field(default=None, description="exact, e.g. 24000/1001")
    fps_value: float | None = None
    frame_count: int | None = None
    duration_s: float | None = None
    timecode: str | None = None
    bit_depth: int | None = None


class SequenceRow(BaseModel):
    name: str
    prefix: str
    pattern: str
    count: int
    first: int
    last: int
    media_type: str


class FileLink(BaseModel):
    key: str
    name: str
    size: int
    role: str
    url: str


class SignedLink(BaseModel):
    """A file, and a URL that fetches it for a while."""

    key: str
    url: str


class PathPoint(BaseModel):
    frame: int
    x: float
    y: float
    z: float
    status: str


class CameraPath(BaseModel):
    kind: str | None
    points: list[PathPoint]


class Layers(BaseModel):
    """Which sequences the scrubber shows beside the frame."""

    depth: str | None
    mask: str | None


class JobDetail(JobSummary):
    source: Source
    frame_range: FrameRange | None
    sequences: list[SequenceRow]
    files: list[FileLink]
    manifest: SignedLink | None
    failure: SignedLink | None
    deliveries: list[Delivery]
    camera: CameraPath | None
    camera_verdict: CameraVerdict | None = Field(
        description="the verdict with every reason, and the evidence behind it"
    )
    layers: Layers


class FrameLinks(BaseModel):
    frame: str | None = None
    depth: str | None = None
    mask: str | None = None
