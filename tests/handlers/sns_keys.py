"""A test signing key and certificate, and SNS envelopes signed with them."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from handlers.sns_signature import string_to_sign

CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"
TOPIC = "arn:aws:sns:us-east-1:123456789012:studio-plates-events"


@functools.cache
def key_and_cert() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def sign(doc: dict[str, Any], *, version: str = "2") -> dict[str, Any]:
    """Sign an envelope in place as SNS would, with our test key."""
    key, _ = key_and_cert()
    doc["SignatureVersion"] = version
    doc["SigningCertURL"] = doc.get("SigningCertURL", CERT_URL)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
    signature = key.sign(string_to_sign(doc, doc["Type"]), padding.PKCS1v15(), algorithm)
    doc["Signature"] = base64.b64encode(signature).decode()
    return doc


def notification(message: dict[str, Any] | str, *, timestamp: str | None = None) -> dict[str, Any]:
    now = timestamp or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "Amazon S3 Notification",
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": now,
    }
    return sign(doc)


def subscription_confirmation() -> dict[str, Any]:
    doc = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
        "&TopicArn=" + TOPIC + "&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc",
        "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return sign(doc)


class CertFetcher:
    """Serves the test certificate; records every URL asked for."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return key_and_cert()[1] if url.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
