"""Turning what a user names on the command line into an `ObjectRef` in the store."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from ingest_service.errors import PlateInputError, SourceNotFoundError
from ingest_service.jobs.source import ObjectRef
from storage import (
    ObjectInfo,
    ObjectNotFoundError,
    ObjectStore,
    PreconditionFailedError,
)


def ref_for_local_file(store: ObjectStore, path: Path, *, key: str) -> ObjectRef:
    """Put a local plate into the drop zone (unless it is already in a folder bucket).

    An existing object under the same key is reused only if it holds the same bytes:
    someone else's plate is never overwritten.
    """
    in_bucket = store.local_key(path)
    if in_bucket is not None:
        return _ref(store, store.head(in_bucket))
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        info = store.upload(key, path, content_type=content_type, if_none_match=True)
    except PreconditionFailedError:
        info = store.head(key)
        if not _same_bytes(store, info, path):
            raise PlateInputError(
                f"{key} already holds a different file in {store.uri}; "
                "pass --key to ingest this one under another name"
            ) from None
    return _ref(store, info)


def ref_for_key(store: ObjectStore, key: str) -> ObjectRef:
    """An object already in the store, named by key or by `s3://bucket/key`."""
    own = f"s3://{store.bucket}/"
    if key.startswith(own):
        key = key[len(own) :]
    elif key.startswith("s3://"):
        raise PlateInputError(f"{key} is not in the configured store {store.uri}")
    try:
        return _ref(store, store.head(key))
    except ObjectNotFoundError as exc:
        raise SourceNotFoundError(
            f"{key} is neither a local file nor an object in {store.uri}"
        ) from exc


def _ref(store: ObjectStore, info: ObjectInfo) -> ObjectRef:
    return ObjectRef.of(store.bucket, info)


def _same_bytes(store: ObjectStore, info: ObjectInfo, path: Path) -> bool:
    if info.size != path.stat().st_size:
        return False
    local, remote = hashlib.sha256(), hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            local.update(chunk)
    with store.open_read(info.key, etag=info.etag) as reader:
        while chunk := reader.read(8 << 20):
            remote.update(chunk)
    return local.digest() == remote.digest()
