"""Multipart uploads that a browser sends part by part, straight to the bucket.

On S3 each part goes to a presigned URL, so the bytes never pass through our server. A
folder store has no URLs of its own: the web app receives the parts and hands them to
`LocalMultipart.put_part`, with the same shape (PUT a part, read back its ETag). Either
way the object appears only when the upload is completed, whole, and never over an
existing object (a plate in the drop zone is never replaced).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from storage.base import ObjectInfo
from storage.errors import (
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
    UnsupportedError,
)
from storage.local import INTERNAL_DIR, LocalStore
from storage.s3 import S3Store
from storage.s3_errors import call, translated

MIN_PART = 5 * 1024 * 1024  # S3's smallest part, but for the last
MAX_PARTS = 10_000


class Multipart(Protocol):
    """A multipart upload, part by part; every backend answers every call."""

    def start(self, key: str, content_type: str | None = None) -> str: ...

    def part_url(
        self, key: str, upload_id: str, number: int, *, size: int, expires_s: int
    ) -> str | None:
        """A URL the part, `size` bytes long, is PUT to; None when parts come to us
        (`put_part`)."""
        ...

    def put_part(self, upload_id: str, number: int, data: bytes | Iterable[bytes]) -> str:
        """Store one part sent to us, as it arrives (chunks are written, never joined in
        memory); returns its ETag. UnsupportedError where parts go straight to the bucket."""
        ...

    def parts(self, key: str, upload_id: str) -> list[SentPart]:
        """The parts received so far; ObjectNotFoundError if `key` has no such upload."""
        ...

    def complete(
        self, key: str, upload_id: str, parts: list[Part], *, size: int | None = None
    ) -> ObjectInfo:
        """Join `parts` into the object, only if none exists (and, with `size`, only if
        that is their total)."""
        ...

    def abort(self, key: str, upload_id: str) -> None: ...


@dataclass(frozen=True)
class Part:
    number: int
    etag: str


@dataclass(frozen=True)
class SentPart:
    """A part as the store holds it; `etag` never carries quotes."""

    number: int
    etag: str
    size: int


def _check_parts(parts: list[Part]) -> list[Part]:
    numbers = [p.number for p in parts]
    if not parts or numbers != sorted(set(numbers)) or numbers[0] < 1 or numbers[-1] > MAX_PARTS:
        raise InvalidKeyError("parts must be numbered 1..10000, ascending, without repeats")
    return parts


class LocalMultipart:
    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.root = store.root / INTERNAL_DIR / "uploads"

    def _folder(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise ObjectNotFoundError(f"no upload {upload_id!r}", key=upload_id)
        folder = self.root / upload_id
        if not folder.is_dir():
            raise ObjectNotFoundError(
                f"no upload {upload_id!r} (completed or aborted?)", key=upload_id
            )
        return folder

    def start(self, key: str, content_type: str | None = None) -> str:
        self.store.path_for(key)  # the key's checks, before anything is written
        upload_id = uuid.uuid4().hex
        folder = self.root / upload_id
        folder.mkdir(parents=True)
        (folder / "upload.json").write_text(json.dumps({"key": key, "type": content_type}))
        return upload_id

    def part_url(self, key: str, upload_id: str, number: int, *, size: int, expires_s: int) -> None:
        return None  # parts come through the web app to put_part

    def put_part(self, upload_id: str, number: int, data: bytes | Iterable[bytes]) -> str:
        folder = self._folder(upload_id)
        if not 1 <= number <= MAX_PARTS:
            raise InvalidKeyError(f"part number {number} is outside 1..{MAX_PARTS}")
        digest = hashlib.md5(usedforsecurity=False)
        # One temp file per request: two sends of a part at once never mix their bytes.
        tmp = folder / f"{number}.{uuid.uuid4().hex}.tmp"
        try:
            with tmp.open("wb") as out:
                for chunk in [data] if isinstance(data, bytes) else data:
                    digest.update(chunk)
                    out.write(chunk)
            etag = digest.hexdigest()
            (folder / f"{number}.etag").write_text(etag)
            tmp.replace(folder / f"{number}.part")  # a part sent again replaces the old one
        finally:
            tmp.unlink(missing_ok=True)
        return f'"{etag}"'

    def parts(self, key: str, upload_id: str) -> list[SentPart]:
        folder, _ = self._upload(key, upload_id)
        sent = []
        for path in sorted(folder.glob("*.part"), key=lambda p: int(p.stem)):
            number = int(path.stem)
            etag = folder / f"{number}.etag"
            with contextlib.suppress(FileNotFoundError):  # gone: completed or aborted meanwhile
                sent.append(SentPart(number, etag.read_text(), path.stat().st_size))
        return sent

    def _upload(self, key: str, upload_id: str) -> tuple[Path, dict[str, Any]]:
        """The upload's folder and what it was started with, if it was started for `key`."""
        folder = self._folder(upload_id)
        try:
            meta: dict[str, Any] = json.loads((folder / "upload.json").read_text())
        except FileNotFoundError as exc:  # completed or aborted a moment ago
            raise ObjectNotFoundError(f"no upload {upload_id!r}", key=key) from exc
        if meta["key"] != key:
            raise ObjectNotFoundError(
                f"upload {upload_id} is for {meta['key']!r}, not {key!r}", key=key
            )
        return folder, meta

    def complete(
        self, key: str, upload_id: str, parts: list[Part], *, size: int | None = None
    ) -> ObjectInfo:
        folder, meta = self._upload(key, upload_id)
        joined = folder / "joined"
        with joined.open("wb") as out:
            for part in _check_parts(parts):
                path = folder / f"{part.number}.part"
                if not path.is_file():
                    raise PreconditionFailedError(f"part {part.number} was never uploaded", key=key)
                with path.open("rb") as src:
                    digest = hashlib.md5(usedforsecurity=False)
                    while chunk := src.read(8 * 1024 * 1024):
                        digest.update(chunk)
                        out.write(chunk)
                if part.etag.strip('"') != digest.hexdigest():
                    raise PreconditionFailedError(
                        f"part {part.number} changed since it was sent (ETag mismatch)", key=key
                    )
        if size is not None and joined.stat().st_size != size:
            raise PreconditionFailedError(
                f"the parts hold {joined.stat().st_size} bytes, not {size}", key=key
            )
        info = self.store.upload(key, joined, content_type=meta["type"], if_none_match=True)
        shutil.rmtree(folder, ignore_errors=True)
        return info

    def abort(self, key: str, upload_id: str) -> None:
        shutil.rmtree(self._folder(upload_id), ignore_errors=True)


class S3Multipart:
    def __init__(self, store: S3Store) -> None:
        self.store = store
        self.client: Any = store.client

    def start(self, key: str, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        response = call(
            "start upload",
            key,
            lambda: self.client.create_multipart_upload(Bucket=self.store.bucket, Key=key, **extra),
        )
        return str(response["UploadId"])

    def part_url(
        self, key: str, upload_id: str, number: int, *, size: int, expires_s: int = 3600
    ) -> str:
        # ContentLength becomes a signed header (with SigV4): S3 refuses a PUT of any
        # other length, so a part URL can carry only the bytes it was made for.
        params = {
            "Bucket": self.store.bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": number,
            "ContentLength": size,
        }
        return str(
            call(
                "presign part",
                key,
                lambda: self.client.generate_presigned_url(
                    "upload_part", Params=params, ExpiresIn=expires_s
                ),
            )
        )

    def put_part(self, upload_id: str, number: int, data: bytes | Iterable[bytes]) -> str:
        raise UnsupportedError("parts go straight to the bucket on S3", key=upload_id)

    def parts(self, key: str, upload_id: str) -> list[SentPart]:
        # NoSuchUpload (404) unless this upload id was started for this very key.
        pages = self.client.get_paginator("list_parts").paginate(
            Bucket=self.store.bucket, Key=key, UploadId=upload_id
        )
        with translated("list upload parts", key):
            return [
                SentPart(p["PartNumber"], p["ETag"].strip('"'), p["Size"])
                for page in pages
                for p in page.get("Parts", [])
            ]

    def complete(
        self, key: str, upload_id: str, parts: list[Part], *, size: int | None = None
    ) -> ObjectInfo:
        body = {"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in _check_parts(parts)]}
        # IfNoneMatch: a plate already in the drop zone under this name is never replaced.
        # MpuObjectSize: S3 itself refuses parts that do not add up to the declared size.
        checked = {"MpuObjectSize": size} if size is not None else {}
        call(
            "complete upload",
            key,
            lambda: self.client.complete_multipart_upload(
                Bucket=self.store.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload=body,
                IfNoneMatch="*",
                **checked,
            ),
        )
        return self.store.head(key)

    def abort(self, key: str, upload_id: str) -> None:
        call(
            "abort upload",
            key,
            lambda: self.client.abort_multipart_upload(
                Bucket=self.store.bucket, Key=key, UploadId=upload_id
            ),
        )


def multipart_for(store: object) -> Multipart:
    if isinstance(store, LocalStore):
        return LocalMultipart(store)
    if isinstance(store, S3Store):
        return S3Multipart(store)
    raise TypeError(f"no multipart uploads for {type(store).__name__}")
