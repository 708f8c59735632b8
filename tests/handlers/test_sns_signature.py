"""SNS messages are believed only with a valid signature from an SNS-hosted certificate."""

from __future__ import annotations

import time
from typing import Any

import pytest

from handlers.errors import SnsSignatureError
from handlers.events.sns import parse_sns
from handlers.sns_signature import SnsVerifier, check_sns_url
from tests.handlers.sns_keys import CertFetcher, notification, sign, subscription_confirmation


def _verify(doc: dict[str, Any], **kwargs: Any) -> CertFetcher:
    fetcher = CertFetcher()
    SnsVerifier(fetch=fetcher, **kwargs).verify(parse_sns(doc), doc)
    return fetcher


@pytest.mark.parametrize("version", ["1", "2"])
def test_valid_notifications_verify(version: str) -> None:
    doc = notification({"Records": []})
    sign(doc, version=version)
    assert _verify(doc).urls == [doc["SigningCertURL"]]


def test_subject_is_signed_only_when_present() -> None:
    doc = notification({"Records": []})
    del doc["Subject"]
    _verify(sign(doc))


def test_subscription_confirmation_verifies() -> None:
    _verify(subscription_confirmation())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Message", '{"Records": ["forged"]}', "does not match"),
        ("TopicArn", "arn:aws:sns:us-east-1:999:other", "does not match"),
        ("Signature", "bm90IGEgc2lnbmF0dXJl", "does not match"),
        ("Signature", "***", "does not match"),
        ("SignatureVersion", "3", "unknown SignatureVersion"),
    ],
)
def test_tampered_messages_are_refused(field: str, value: str, message: str) -> None:
    doc = notification({"Records": []})
    doc[field] = value
    with pytest.raises(SnsSignatureError, match=message):
        _verify(doc)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
        "https://user:pw@sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com/cert.txt",
    ],
)
def test_certificates_come_only_from_sns_hosts(url: str) -> None:
    doc = notification({"Records": []})
    doc["SigningCertURL"] = url
    sign(doc)
    with pytest.raises(SnsSignatureError):
        _verify(doc)


def test_stale_and_future_messages_are_refused() -> None:
    old = notification({"Records": []}, timestamp="2020-01-01T00:00:00.000Z")
    with pytest.raises(SnsSignatureError, match="stale"):
        _verify(old)
    future = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600))
    with pytest.raises(SnsSignatureError, match="future"):
        _verify(notification({"Records": []}, timestamp=future))


def test_topic_allow_list() -> None:
    doc = notification({"Records": []})
    _verify(doc, topics=frozenset({doc["TopicArn"]}))
    with pytest.raises(SnsSignatureError, match="allow-list"):
        _verify(doc, topics=frozenset({"arn:aws:sns:us-east-1:123456789012:other"}))


def test_certificate_is_fetched_once() -> None:
    fetcher = CertFetcher()
    verifier = SnsVerifier(fetch=fetcher)
    for _ in range(3):
        doc = notification({"Records": []})
        verifier.verify(parse_sns(doc), doc)
    assert len(fetcher.urls) == 1


def test_subscribe_url_check() -> None:
    check_sns_url("https://sns.eu-west-2.amazonaws.com/?Action=ConfirmSubscription", "x")
    check_sns_url("https://sns.cn-north-1.amazonaws.com.cn/?Action=x", "x")
    with pytest.raises(SnsSignatureError):
        check_sns_url("https://169.254.169.254/latest/meta-data", "SubscribeURL")
