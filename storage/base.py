"""The object-store contract shared by every backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a store knows about one object; `etag` never carries quotes."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    version_id: str | None = None
    content_type: str | None = None
    # The token its writer gave `put`, where the backend stores it with the object.
    write_token: str | None = None


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A small object read whole, with the info that names the exact version read."""

    data: bytes
    info: ObjectInfo


@runtime_checkable
class ObjectStore(Protocol):
    """A bucket: flat keys, whole-object writes, conditional create and compare-and-swap."""

    @property
    def bucket(self) -> str: ...

    @property
    def uri(self) -> str: ...

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo: ...

    def get(self, key: str, *, version_id: str | None = None) -> StoredObject: ...

    def open_read(
        self, key: str, *, version_id: str | None = None, etag: str | None = None
    ) -> BinaryIO:
        """A seekable reader that never holds the whole object in memory.

        With `etag` (or `version_id`) every read is pinned to that content: if the
        object is replaced mid-read, reads fail with PreconditionFailedError.
        """
        ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
        write_token: str | None = None,
    ) -> ObjectInfo:
        """Write a whole object.

        `if_none_match=True` creates only if absent; `if_match=etag` replaces only
        that exact version. Either failing raises PreconditionFailedError.
        `write_token` is kept with the object where a write's answer can be lost (S3),
        so its writer can recognise its own write when it reads the object back.
        """
        ...

    def upload(
        self,
        key: str,
        source: Path,
        *,
        content_type: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        """Stream a local file into the store (multipart where the backend has it)."""
        ...

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Every object under `prefix`, in key order, fetched page by page."""
        ...

    def delete(self, key: str) -> None: ...

    # -- capabilities: every store answers; None means "not this store" --------------------

    def presign(self, key: str, *, expires_s: int = 3600) -> str | None:
        """A URL anyone may GET the object from until it expires; None for a store with
        no URLs of its own (a folder), whose objects the caller serves itself."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file behind `key` when the store is a folder on this machine, else None."""
        ...

    def local_key(self, path: Path) -> str | None:
        """The key a local file already has in this store (a folder holding it), else None."""
        ...
