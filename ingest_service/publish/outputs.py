"""Writing a published file and describing it, the same way for every stage."""

from __future__ import annotations

import hashlib

from ingest_service.jobs.results import FrameRange, OutputFile, SequenceInfo
from storage import ObjectStore


def put_output(
    store: ObjectStore,
    key: str,
    data: bytes,
    *,
    media_type: str,
    role: str,
    frame: int | None = None,
) -> OutputFile:
    """Store `data` at `key` and return the manifest entry that lets a reader verify it."""
    store.put(key, data, content_type=media_type)
    return OutputFile(
        key=key,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=media_type,
        role=role,
        frame=frame,
    )


def sequence_info(
    name: str,
    stem: str,
    extension: str,
    *,
    prefix: str,
    pad: int,
    first: int,
    count: int,
    media_type: str,
    width: int,
    height: int,
    bit_depth: int,
    channels: str,
    transfer: str,
) -> SequenceInfo:
    """`<stem>.%0Nd.<ext>` as printf and as Nuke's `####` pattern, with its frame range."""
    return SequenceInfo(
        name=name,
        prefix=prefix,
        printf_pattern=f"{stem}.%0{pad}d.{extension}",
        hash_pattern=f"{stem}.{'#' * pad}.{extension}",
        frame_range=FrameRange(first=first, last=first + count - 1),
        count=count,
        media_type=media_type,
        width=width,
        height=height,
        bit_depth=bit_depth,
        channels=channels,
        transfer=transfer,
    )
