"""The S3 region a deployment names is the one its signed URLs are made for."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ingest_service.services import Services
from ingest_service.settings import load_settings
from storage import S3Store, make_client
from storage.multipart import S3Multipart

BUCKET = "studio-plates"


def _signed_for(url: str | None) -> tuple[str, str]:
    """The host a signed URL goes to, and the region its signature is scoped to."""
    assert url is not None  # S3 always signs
    parts = urlsplit(url)
    [credential] = parse_qs(parts.query)["X-Amz-Credential"]
    _key, _date, region, service, _kind = credential.split("/")
    assert service == "s3"
    return parts.netloc, region


@pytest.fixture
def no_region_chain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No region from botocore's own chain: neither AWS_DEFAULT_REGION nor a profile."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    return monkeypatch


def test_ingest_s3_region_reaches_presigned_urls(no_region_chain: pytest.MonkeyPatch) -> None:
    no_region_chain.setenv("INGEST_STORE", f"s3://{BUCKET}")
    no_region_chain.setenv("INGEST_S3_REGION", "eu-west-2")
    store = Services.build(load_settings()).store
    assert isinstance(store, S3Store)

    download = store.presign("published/sh0040/v001/manifest.json")
    part = S3Multipart(store).part_url(
        "incoming/sh0040.mov", "upload-1", 1, size=8 * 1024 * 1024, expires_s=600
    )

    for url in (download, part):
        assert _signed_for(url) == (f"{BUCKET}.s3.eu-west-2.amazonaws.com", "eu-west-2")


def test_aws_region_is_honoured_when_botocore_finds_none(
    no_region_chain: pytest.MonkeyPatch,
) -> None:
    no_region_chain.setenv("AWS_REGION", "ap-southeast-2")
    store = S3Store(BUCKET, client=make_client())
    url = store.presign("incoming/sh0040.mov")
    assert _signed_for(url) == (f"{BUCKET}.s3.ap-southeast-2.amazonaws.com", "ap-southeast-2")


def test_the_setting_wins_over_the_aws_chain(no_region_chain: pytest.MonkeyPatch) -> None:
    no_region_chain.setenv("AWS_DEFAULT_REGION", "us-west-2")
    no_region_chain.setenv("AWS_REGION", "ap-southeast-2")
    store = Services.build(load_settings(store=f"s3://{BUCKET}", s3_region="eu-central-1")).store
    assert _signed_for(store.presign("k"))[1] == "eu-central-1"


def test_us_east_1_urls_are_signed_with_sigv4() -> None:
    # botocore presigns SigV2 there by default, which buckets made since 2020 refuse.
    url = S3Store(BUCKET, client=make_client(region="us-east-1")).presign("incoming/a.mov")
    assert _signed_for(url) == (f"{BUCKET}.s3.amazonaws.com", "us-east-1")
    assert "AWSAccessKeyId=" not in url  # the mark of a SigV2 URL


def test_a_dotted_bucket_keeps_a_host_its_certificate_covers() -> None:
    url = S3Store("studio.plates", client=make_client(region="eu-west-2")).presign("k")
    assert _signed_for(url) == ("s3.eu-west-2.amazonaws.com", "eu-west-2")
    assert urlsplit(url).path == "/studio.plates/k"


def test_a_custom_endpoint_keeps_its_host(no_region_chain: pytest.MonkeyPatch) -> None:
    store = Services.build(
        load_settings(
            store=f"s3://{BUCKET}", s3_endpoint_url="http://minio:9000", s3_region="eu-west-2"
        )
    ).store
    url = store.presign("k")
    assert _signed_for(url) == ("minio:9000", "eu-west-2")
    assert urlsplit(url).path == f"/{BUCKET}/k"
