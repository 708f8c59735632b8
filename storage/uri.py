"""Open a store from a URI: `file:///dir`, a plain path, or `s3://bucket`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from storage.base import ObjectStore
from storage.errors import StorageError
from storage.local import LocalStore
from storage.s3 import S3Store, make_client


def open_store(
    uri: str, *, endpoint_url: str | None = None, region: str | None = None
) -> ObjectStore:
    """The store a URI names; S3 endpoint and region default to botocore's own lookup."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StorageError(f"store URI names no bucket: {uri!r}")
        if parsed.path.strip("/"):
            raise StorageError(f"store URI must name a bucket only, not a path: {uri!r}")
        return S3Store(parsed.netloc, client=make_client(endpoint_url=endpoint_url, region=region))
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise StorageError(f"file store URI must be local: {uri!r}")
        return LocalStore(Path(unquote(parsed.path)))
    if parsed.scheme == "":
        return LocalStore(Path(uri))
    raise StorageError(f"unsupported store URI scheme {parsed.scheme!r} (use file:// or s3://)")
