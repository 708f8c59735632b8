"""A seekable, read-only view of one S3 object, fetched in ranged GETs."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from storage.errors import TransientStorageError
from storage.s3_errors import call, translated

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

BLOCK_SIZE = 8 * 1024 * 1024
STREAM_RETRIES = 3


def get_whole(client: S3Client, action: str, **params: Any) -> tuple[GetObjectOutputTypeDef, bytes]:
    """GET an object (or a range of it) and its body, read to the end.

    botocore retries a request, not a body that drops mid-stream (a truncated response,
    a reset connection): the whole GET is asked again, a few times, before giving up.
    """
    key = params.get("Key")
    left = STREAM_RETRIES
    while True:
        # A failed request was retried by botocore already; only the body is ours to retry.
        response = call(action, key, lambda: client.get_object(**params))
        try:
            with translated(action, key):
                return response, response["Body"].read()
        except TransientStorageError:
            left -= 1
            if not left:
                raise


class S3RangeReader(io.RawIOBase):
    """Reads a pinned version of an object one block at a time.

    Demuxers seek (a .mov with its index at the end is read tail first); each read
    costs at most one ranged GET of `block_size`, so memory stays at one block however
    large the plate. Every GET carries If-Match (or VersionId), so a plate replaced
    mid-read fails loudly instead of decoding a mix of two uploads.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        *,
        size: int,
        etag: str | None,
        version_id: str | None,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._pin: dict[str, Any] = {}
        if version_id:
            self._pin["VersionId"] = version_id
        if etag:
            self._pin["IfMatch"] = f'"{etag}"'
        self._block_size = block_size
        self._pos = 0
        self._block_start = 0
        self._block = b""

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        self._pos = target
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or len(view) == 0:
            return 0
        offset = self._pos - self._block_start
        if not 0 <= offset < len(self._block):
            self._fetch(self._pos)
            offset = 0
        n = min(len(view), len(self._block) - offset)
        view[:n] = self._block[offset : offset + n]
        self._pos += n
        return n

    def _fetch(self, start: int) -> None:
        end = min(start + self._block_size, self._size) - 1
        _, self._block = get_whole(
            self._client,
            "read",
            Bucket=self._bucket,
            Key=self._key,
            Range=f"bytes={start}-{end}",
            **self._pin,
        )
        self._block_start = start
