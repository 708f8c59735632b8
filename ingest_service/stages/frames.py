"""frames: decode the plate once, streaming, into an image sequence in the output prefix."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import av
import cv2
import numpy as np

from ingest_service.errors import FramesDecodeError, SourceChangedError
from ingest_service.jobs.options import SourceRange
from ingest_service.jobs.results import (
    FramesResult,
    OutputFile,
    ProbeResult,
)
from ingest_service.jobs.states import StageName
from ingest_service.media.images import ImageEncoder, encoder_for, thumbnail
from ingest_service.media.limits import FrameLimits
from ingest_service.media.video import decode_frames, open_video
from ingest_service.publish.outputs import put_output, sequence_info
from ingest_service.stages.base import StageContext, StageOutput
from storage import ObjectStore, PreconditionFailedError


def run(ctx: StageContext) -> StageOutput:
    probe = ctx.result(StageName.PROBE, ProbeResult)
    options = ctx.job.options
    source = ctx.job.source
    encoder = encoder_for(
        options.frame_format,
        source_bit_depth=probe.bit_depth,
        source_transfer=probe.color_transfer,
        png_compression=options.png_compression,
        png_filter=options.png_filter,
        jpeg_quality=options.jpeg_quality,
        scratch=ctx.scratch,
    )
    prefix = f"{ctx.output_prefix}frames/"
    first = options.first_frame
    skip, expected = _source_window(options.frame_range, probe, ctx.source_name)
    # Pad to at least four digits, more if the range needs it, so names sort in order.
    pad = max(4, len(str(first + max(expected, 1) - 1)))
    workers = ctx.settings.workers
    middle = expected // 2
    picked: np.ndarray | None = None
    files: list[OutputFile] = []

    limits = FrameLimits.of(ctx.settings)
    ctx.progress.started("frames", expected or None, "frames")
    try:
        with (
            ctx.store.open_read(
                source.key, version_id=source.version_id, etag=source.etag
            ) as reader,
            open_video(reader, ctx.source_name, limits) as container,
            ThreadPoolExecutor(workers, thread_name_prefix="frames") as pool,
        ):
            # Bounded in-flight work keeps memory flat however long the plate is.
            window: deque[Future[OutputFile]] = deque()
            frames = decode_frames(
                container,
                pixel_format=encoder.decode_format,
                rotation=probe.rotation,
                name=ctx.source_name,
                limits=limits,
            )
            for source_index, image in enumerate(frames):
                index = source_index - skip
                if index < 0:
                    continue
                if index >= expected and options.frame_range is not None:
                    break
                if index == middle or picked is None:
                    picked = image
                number = first + index
                key = f"{prefix}frame.{number:0{pad}d}.{encoder.extension}"
                window.append(pool.submit(_write_frame, ctx.store, encoder, image, key, number))
                while len(window) > 2 * workers:
                    files.append(window.popleft().result())
                    ctx.progress.advanced()
                    ctx.check()
            while window:
                files.append(window.popleft().result())
                ctx.progress.advanced()
    except PreconditionFailedError as exc:
        raise SourceChangedError(f"{source.key} was replaced while it was being read") from exc

    _check_complete(len(files), expected, probe.frame_count_exact, ctx.source_name)
    assert picked is not None  # _check_complete refuses an empty decode
    thumb = _write_thumbnail(ctx, picked)
    height, width = picked.shape[:2]
    sequence = sequence_info(
        "frames",
        "frame",
        encoder.extension,
        prefix=prefix,
        pad=pad,
        first=first,
        count=len(files),
        media_type=encoder.media_type,
        width=width,
        height=height,
        bit_depth=encoder.bit_depth,
        channels="RGB",
        transfer=encoder.transfer,
    )
    parameters = {
        "format": options.frame_format.value,
        "first_frame": first,
        "rotation_applied": probe.rotation,
        "source_range": [skip + 1, skip + len(files)],
        "png_compression": options.png_compression,
        "png_filter": options.png_filter.value,
        "jpeg_quality": options.jpeg_quality,
    }
    return StageOutput(
        result=FramesResult(sequence=sequence, thumbnail=thumb, files=files),
        backend=f"pyav-{av.__version__}+opencv-{cv2.__version__}",
        parameters=parameters,
        cpu_cores=workers,
    )


def _write_frame(
    store: ObjectStore, encoder: ImageEncoder, image: np.ndarray, key: str, number: int
) -> OutputFile:
    return put_output(
        store, key, encoder.encode(image), media_type=encoder.media_type, role="frame", frame=number
    )


def _write_thumbnail(ctx: StageContext, image: np.ndarray) -> OutputFile:
    data = thumbnail(image, ctx.job.options.thumbnail_width)
    return put_output(
        ctx.store,
        f"{ctx.output_prefix}thumbnail.jpg",
        data,
        media_type="image/jpeg",
        role="thumbnail",
    )


def _source_window(wanted: SourceRange | None, probe: ProbeResult, name: str) -> tuple[int, int]:
    """Frames to skip at the start and frames expected, for the requested source range."""
    if wanted is None:
        return 0, probe.frame_count
    if wanted.first > probe.frame_count:
        raise FramesDecodeError(
            f"{name}: frame_range starts at frame {wanted.first} but the clip has "
            f"{probe.frame_count} frames"
        )
    last = min(wanted.last, probe.frame_count)
    return wanted.first - 1, last - wanted.first + 1


def _check_complete(decoded: int, expected: int, exact: bool, name: str) -> None:
    if decoded == 0:
        raise FramesDecodeError(f"{name}: no frame could be decoded")
    # Containers that index every sample (MOV, MP4, MXF) give an exact count; a short
    # decode of one of those is a file cut off mid-upload, not a rounding difference.
    if exact and decoded < expected:
        raise FramesDecodeError(
            f"{name}: only {decoded} of {expected} frames could be decoded "
            "(the file is truncated or corrupt)"
        )
