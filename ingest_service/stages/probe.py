"""probe: is it video, and what exactly (rate, size, rotation, duration, codec, timecode)."""

from __future__ import annotations

import dataclasses
import hashlib

import av

from ingest_service.errors import SourceChangedError, SourceEmptyError, SourceNotFoundError
from ingest_service.jobs.results import ProbeResult, Rational
from ingest_service.jobs.source import ObjectRef
from ingest_service.media.limits import FrameLimits
from ingest_service.media.video import describe, open_video
from ingest_service.stages.base import StageContext, StageOutput
from storage import ObjectInfo, ObjectNotFoundError, ObjectStore, PreconditionFailedError

HASH_CHUNK = 8 * 1024 * 1024


def run(ctx: StageContext) -> StageOutput:
    source = ctx.job.source
    name = ctx.source_name
    info = check_source(ctx.store, source)
    ctx.progress.started("probe", info.size, "B")
    digest = _sha256(ctx, source)
    limits = FrameLimits.of(ctx.settings)
    with (
        ctx.store.open_read(source.key, version_id=source.version_id, etag=source.etag) as reader,
        open_video(reader, name, limits) as container,
    ):
        facts = describe(container, name, limits)
    width, height = facts.display_size
    # Every fact the container told, as told; rates as exact ratios; the size as displayed.
    told = dataclasses.asdict(facts) | {
        "pixel_aspect": Rational.of(facts.pixel_aspect),
        "fps": Rational.of(facts.fps),
    }
    result = ProbeResult(**told, width=width, height=height, size=info.size, sha256=digest)
    return StageOutput(result=result, backend=f"pyav-{av.__version__}")


def check_source(store: ObjectStore, source: ObjectRef) -> ObjectInfo:
    """The source as it is now: still there, still the upload we were told of, not empty."""
    try:
        info = store.head(source.key, version_id=source.version_id)
    except ObjectNotFoundError as exc:
        raise SourceNotFoundError(f"{source.key} no longer exists in {source.bucket}") from exc
    if info.etag.lower() != source.etag:
        raise SourceChangedError(
            f"{source.key} was replaced after it was noticed; the new upload is a job of its own"
        )
    if info.size == 0:
        raise SourceEmptyError(f"{source.key} is empty (0 bytes): the upload carried no data")
    return info


def _sha256(ctx: StageContext, source: ObjectRef) -> str:
    digest = hashlib.sha256()
    try:
        with ctx.store.open_read(
            source.key, version_id=source.version_id, etag=source.etag
        ) as reader:
            while chunk := reader.read(HASH_CHUNK):
                digest.update(chunk)
                ctx.progress.advanced(len(chunk))
                ctx.check()
    except PreconditionFailedError as exc:
        raise SourceChangedError(f"{source.key} was replaced while it was being read") from exc
    return digest.hexdigest()
