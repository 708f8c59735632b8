"""What the dashboard shows of a job, as JSON: summaries for the list, details for a page.

Only job records, manifests and camera.json are read (plain JSON): the web app never loads
the media stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from handlers.dashboard.models import (
    CameraPath,
    FileLink,
    FrameLinks,
    JobDetail,
    JobSummary,
    Layers,
    PathPoint,
    SequenceRow,
    SignedLink,
    Source,
    StageChip,
)
from ingest_service.errors import StageUnknownError
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.results import (
    CameraResult,
    DepthResult,
    FramesResult,
    MasksResult,
    ProbeResult,
)
from ingest_service.jobs.states import JobState, StageName
from ingest_service.notify.verdict import camera_result, camera_verdict
from ingest_service.stages.order import planned
from storage import ObjectNotFoundError, ObjectStore

Link = Callable[[str], str]  # a key -> a URL the browser may fetch for a while


def summary(record: JobRecord) -> JobSummary:
    """A job as the list and its live updates show it: every planned stage in order."""
    try:
        names = planned(record.options.stages, record.options)
    except StageUnknownError:  # the job's own recorded error says so
        names = list(record.options.stages)
    stages = []
    for name in names:
        run = record.stages.get(name)
        if run is not None:
            stages.append(
                StageChip(
                    name=name,
                    status=run.status.value,
                    duration_s=round(run.duration_s, 2),
                    error=run.error.message if run.error else None,
                )
            )
        elif record.current_stage == name and record.state is JobState.RUNNING:
            stages.append(StageChip(name=name, status="running", duration_s=None, error=None))
        else:
            stages.append(StageChip(name=name, status="pending", duration_s=None, error=None))
    camera = camera_result(record)
    return JobSummary(
        job_id=record.job_id,
        state=record.state.value,
        key=record.source.key,
        size=record.source.size,
        shot=record.shot,
        version=record.version,
        created_at=record.created_at.isoformat(),
        updated_at=record.updated_at.isoformat(),
        attempt=record.attempt,
        max_attempts=record.max_attempts,
        # Failed for good: a retry is the operator's call. (Failed with attempts left is
        # already queued for the poller.)
        retry_possible=record.state is JobState.FAILED and not record.retry_allowed,
        current_stage=record.current_stage,
        error=record.error.message if record.error else None,
        stages=stages,
        # From the record itself: the list reads nothing more per job.
        camera_review=camera.review if camera else None,
    )


def detail(record: JobRecord, store: ObjectStore, link: Link) -> JobDetail:
    probe = record.result(StageName.PROBE, ProbeResult)
    frames = record.result(StageName.FRAMES, FramesResult)
    ref = record.source
    found: dict[str, Any] = {}
    if probe:
        found = {
            "codec": probe.codec,
            "container": probe.container,
            "width": probe.width,
            "height": probe.height,
            "fps": f"{probe.fps.num}/{probe.fps.den}",
            "fps_value": round(probe.fps.num / probe.fps.den, 3),
            "frame_count": probe.frame_count,
            "duration_s": probe.duration_s,
            "timecode": probe.timecode,
            "bit_depth": probe.bit_depth,
        }
    source = Source(
        bucket=ref.bucket,
        key=ref.key,
        size=ref.size,
        etag=ref.etag,
        version_id=ref.version_id,
        **found,
    )
    sequences = [
        SequenceRow(
            name=s.name,
            prefix=s.prefix,
            pattern=s.hash_pattern,
            count=s.count,
            first=s.frame_range.first,
            last=s.frame_range.last,
            media_type=s.media_type,
        )
        for run in record.stages.values()
        if run.result
        for s in run.result.sequences()
    ]
    files = [
        FileLink(
            key=f.key, name=f.key.rsplit("/", 1)[-1], size=f.size, role=f.role, url=link(f.key)
        )
        for run in record.stages.values()
        if run.result
        for f in run.result.outputs()
        if f.frame is None
    ]
    return JobDetail(
        **summary(record).model_dump(),
        source=source,
        frame_range=frames.sequence.frame_range if frames else None,
        sequences=sequences,
        files=files,
        manifest=_link(record.manifest_key, link),
        failure=_link(record.failure_key, link),
        deliveries=record.deliveries,
        camera=camera_path(record, store),
        camera_verdict=camera_verdict(record),
        layers=_layers(record),
    )


def _link(key: str | None, link: Link) -> SignedLink | None:
    return SignedLink(key=key, url=link(key)) if key else None


def _layers(record: JobRecord) -> Layers:
    depth = record.result(StageName.DEPTH, DepthResult)
    masks = record.result(StageName.MASKS, MasksResult)
    return Layers(
        depth="preview" if depth else None,
        mask=masks.labels[0].label if masks and masks.labels else None,
    )


def frame_links(record: JobRecord, index: int, link: Link) -> FrameLinks:
    """URLs of frame `index` (0-based) and its depth preview and mask, where they exist."""
    out = FrameLinks()
    frames = record.result(StageName.FRAMES, FramesResult)
    if frames is None:
        return out
    number = frames.sequence.frame_range.first + index
    out.frame = _frame_key(frames.files, number, link)
    depth = record.result(StageName.DEPTH, DepthResult)
    if depth:
        out.depth = _frame_key([f for f in depth.files if f.role == "preview"], number, link)
    masks = record.result(StageName.MASKS, MasksResult)
    if masks and masks.labels:
        combined = masks.labels[0].combined.prefix + "mask."
        out.mask = _frame_key([f for f in masks.files if f.key.startswith(combined)], number, link)
    return out


def _frame_key(files: list[Any], number: int, link: Link) -> str | None:
    for f in files:
        if f.frame == number:
            return link(f.key)
    return None


def camera_path(record: JobRecord, store: ObjectStore) -> CameraPath | None:
    """Camera centres per frame from camera.json, for the top and side plots."""
    camera = record.result(StageName.CAMERA, CameraResult)
    if camera is None:
        return None
    key = next((f.key for f in camera.files if f.key.endswith("/camera.json")), None)
    if key is None:
        return None
    try:
        doc = json.loads(store.get(key).data)
    except (ObjectNotFoundError, ValueError):
        return None
    points = []
    for frame in doc.get("frames", []):
        m = frame["world_from_camera"]
        points.append(
            PathPoint(frame=frame["frame"], x=m[0][3], y=m[1][3], z=m[2][3], status=frame["status"])
        )
    return CameraPath(kind=doc.get("kind"), points=points)
