"""Streaming multipart upload with S3's conditional create on completion.

boto3's transfer manager cannot send If-None-Match, which is what keeps an upload
from overwriting someone else's plate, so the parts are driven here: a bounded
number in flight, so memory is `max_in_flight x part_size` whatever the file size.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.s3_errors import translated

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024
S3_MAX_PARTS = 10_000


def part_size_for(size: int, minimum: int) -> int:
    """At least `minimum`, and large enough to stay under S3's 10,000-part limit."""
    needed = -(-size // S3_MAX_PARTS)
    return max(minimum, -(-needed // MiB) * MiB)


def upload_file(
    client: S3Client,
    bucket: str,
    key: str,
    source: Path,
    *,
    extra: dict[str, Any],
    threshold: int = 64 * MiB,
    part_size: int = 32 * MiB,
    max_in_flight: int = 4,
) -> None:
    size = source.stat().st_size
    if size < threshold:
        with translated("upload", key), source.open("rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        return
    conditional = {k: extra[k] for k in ("IfNoneMatch",) if k in extra}
    create_args = {k: v for k, v in extra.items() if k not in conditional}
    with translated("upload", key):
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **create_args)[
            "UploadId"
        ]
    try:
        parts = _upload_parts(
            client, bucket, key, upload_id, source, part_size_for(size, part_size), max_in_flight
        )
        with translated("upload", key):
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                **conditional,
            )
    except BaseException:
        with translated("abort upload", key):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def _upload_parts(
    client: S3Client,
    bucket: str,
    key: str,
    upload_id: str,
    source: Path,
    part_size: int,
    max_in_flight: int,
) -> list[dict[str, Any]]:
    def send(number: int, data: bytes) -> dict[str, Any]:
        with translated("upload part", key):
            response = client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
        return {"PartNumber": number, "ETag": response["ETag"]}

    parts: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_in_flight) as pool, source.open("rb") as fh:
        window: deque[Future[dict[str, Any]]] = deque()
        number = 1
        while data := fh.read(part_size):
            window.append(pool.submit(send, number, data))
            number += 1
            if len(window) >= max_in_flight:
                parts.append(window.popleft().result())
        parts.extend(f.result() for f in window)
    return parts
