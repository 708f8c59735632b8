"""S3 (or any S3-compatible endpoint: MinIO, moto, R2) as an `ObjectStore`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config

from storage.base import ObjectInfo, StoredObject
from storage.s3_errors import call, translated
from storage.s3_reader import S3RangeReader, get_whole
from storage.s3_upload import MiB, upload_file

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def resolve_region(
    region: str | None = None, session: boto3.session.Session | None = None
) -> str | None:
    """`region`, else botocore's chain (`AWS_DEFAULT_REGION`, the profile), else
    `AWS_REGION`, which the other AWS SDKs read and botocore does not."""
    session = session or boto3.session.Session()
    return region or session.region_name or os.environ.get("AWS_REGION") or None


def make_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    max_attempts: int = 6,
    max_pool_connections: int = 32,
) -> S3Client:
    """A client with botocore's standard retry mode (5xx, throttling, timeouts, capped backoff).

    Credentials come from the standard chain (environment, profile, instance role), and
    `AWS_ENDPOINT_URL` is honoured by botocore itself when `endpoint_url` is None; the
    region is `resolve_region(region)`.
    """
    session = boto3.session.Session()
    region = resolve_region(region, session)
    on_aws = not (endpoint_url or any(os.environ.get(name) for name in ENDPOINT_VARIABLES))
    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        max_pool_connections=max_pool_connections,
        connect_timeout=10,
        read_timeout=60,
        # Presigned URLs: SigV4 always (botocore still presigns SigV2 in us-east-1, which
        # buckets made since 2020 refuse), and on AWS the bucket's regional host rather
        # than the global one (opt-in regions and new buckets answer only there). Dotted
        # bucket names stay path-style; other endpoints (MinIO) keep botocore's choice.
        signature_version="s3v4",
        s3={"addressing_style": "virtual"} if on_aws else {},
    )
    client: S3Client = session.client(
        "s3", endpoint_url=endpoint_url, region_name=region, config=config
    )
    return client


def _strip(etag: str) -> str:
    return etag.strip('"')


# User metadata (x-amz-meta-ingest-write-token) naming the write that stored an object.
WRITE_MARK = "ingest-write-token"  # a key name, not a secret


def _write_token(response: Mapping[str, Any]) -> str | None:
    token = response.get("Metadata", {}).get(WRITE_MARK)
    return str(token) if token is not None else None


def _write_params(content_type: str | None, if_none_match: bool) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if content_type:
        extra["ContentType"] = content_type
    if if_none_match:
        extra["IfNoneMatch"] = "*"
    return extra


class S3Store:
    """An `ObjectStore` over one S3 bucket."""

    def __init__(
        self,
        bucket: str,
        *,
        client: S3Client | None = None,
        multipart_threshold: int = 64 * MiB,
        part_size: int = 32 * MiB,
    ) -> None:
        self._bucket = bucket
        self.client = client or make_client()
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def uri(self) -> str:
        return f"s3://{self._bucket}"

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo:
        extra: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        response = call(
            "head", key, lambda: self.client.head_object(Bucket=self._bucket, Key=key, **extra)
        )
        return ObjectInfo(
            key=key,
            size=response["ContentLength"],
            etag=_strip(response["ETag"]),
            last_modified=response["LastModified"],
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
            write_token=_write_token(response),
        )

    def get(self, key: str, *, version_id: str | None = None) -> StoredObject:
        extra: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        response, data = get_whole(self.client, "get", Bucket=self._bucket, Key=key, **extra)
        info = ObjectInfo(
            key=key,
            size=len(data),
            etag=_strip(response["ETag"]),
            last_modified=response["LastModified"],
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
            write_token=_write_token(response),
        )
        return StoredObject(data=data, info=info)

    def open_read(
        self, key: str, *, version_id: str | None = None, etag: str | None = None
    ) -> BinaryIO:
        info = self.head(key, version_id=version_id)
        # RawIOBase is a binary reader in all but name.
        return S3RangeReader(  # type: ignore[return-value]
            self.client,
            self._bucket,
            key,
            size=info.size,
            etag=etag or info.etag,
            version_id=version_id,
        )

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
        extra = _write_params(content_type, if_none_match)
        if if_match is not None:
            extra["IfMatch"] = f'"{if_match}"'
        if write_token is not None:
            extra["Metadata"] = {WRITE_MARK: write_token}
        response = call(
            "put",
            key,
            lambda: self.client.put_object(Bucket=self._bucket, Key=key, Body=data, **extra),
        )
        return ObjectInfo(
            key=key,
            size=len(data),
            etag=_strip(response["ETag"]),
            last_modified=datetime.now(UTC),
            version_id=response.get("VersionId"),
            content_type=content_type,
            write_token=write_token,
        )

    def upload(
        self,
        key: str,
        source: Path,
        *,
        content_type: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        # IfNoneMatch is honoured by PutObject and CompleteMultipartUpload alike.
        extra = _write_params(content_type, if_none_match)
        upload_file(
            self.client,
            self._bucket,
            key,
            Path(source),
            extra=extra,
            threshold=self.multipart_threshold,
            part_size=self.part_size,
        )
        return self.head(key)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        params: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        if start_after:
            params["StartAfter"] = start_after
        with translated("list", prefix or "/"):
            for page in paginator.paginate(**params):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=item["Key"],
                        size=item["Size"],
                        etag=_strip(item["ETag"]),
                        last_modified=item["LastModified"],
                    )

    def delete(self, key: str) -> None:
        call("delete", key, lambda: self.client.delete_object(Bucket=self._bucket, Key=key))

    def local_path(self, key: str) -> None:
        return None

    def local_key(self, path: Path) -> None:
        return None

    def presign(self, key: str, *, expires_s: int = 3600) -> str:
        return call(
            "presign",
            key,
            lambda: self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_s
            ),
        )
