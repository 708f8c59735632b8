"""Verifying SNS messages: certificate from an AWS SNS host, RSA signature, topic, age."""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from handlers.errors import SnsSignatureError
from handlers.events.sns import SnsEnvelope
from ingest_service.errors import SettingsError
from ingest_service.settings import Settings

log = logging.getLogger(__name__)
SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
# The fields signed, in this order, for each message type (AWS's documented rule).
_SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (*_SUBSCRIPTION_FIELDS, "Type"),
    "UnsubscribeConfirmation": (*_SUBSCRIPTION_FIELDS, "Type"),
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
FUTURE_SKEW_S = 300
CERT_CACHE_SIZE = 32


def check_topic_list(settings: Settings) -> None:
    """Refuse to start a production webhook that would take a validly signed message from
    anyone's topic; warn about it in development."""
    if settings.sns_topic_arns or settings.webhook_token is None:
        return
    if settings.environment == "production":
        raise SettingsError(
            "INGEST_SNS_TOPIC_ARNS is required in production: without it the webhook takes a "
            "validly signed SNS message from any AWS account's topic. Set it to your topic's "
            "ARN (several comma-separated), or to 'none' where no SNS topic delivers here."
        )
    log.warning(
        "INGEST_SNS_TOPIC_ARNS is not set: the webhook takes a signed SNS message from any "
        "topic (refused in production); set it to your topic's ARN"
    )


def check_sns_url(url: str, what: str) -> None:
    """Only https URLs on an `sns.<region>.amazonaws.com` host are fetched."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not SNS_HOST.match(parts.hostname or ""):
        raise SnsSignatureError(f"{what} is not an https URL on an SNS host: {parts.hostname}")
    if parts.username or parts.password or parts.port not in (None, 443):
        raise SnsSignatureError(f"{what} carries credentials or an unusual port")


def string_to_sign(doc: dict[str, Any], message_type: str) -> bytes:
    lines = []
    for name in SIGNED_FIELDS[message_type]:
        if name in doc and doc[name] is not None:  # Subject is signed only when present
            lines.append(f"{name}\n{doc[name]}\n")
    return "".join(lines).encode("utf-8")


def fetch_https(url: str) -> bytes:
    response = httpx.get(url, timeout=5.0, follow_redirects=False)
    response.raise_for_status()
    return response.content


class SnsVerifier:
    """Checks every SNS message before its contents are believed."""

    def __init__(
        self,
        *,
        topics: frozenset[str] = frozenset(),
        max_age_s: float = 3600.0,
        fetch: Callable[[str], bytes] = fetch_https,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.topics = topics
        self.max_age_s = max_age_s
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def verify(self, envelope: SnsEnvelope, doc: dict[str, Any]) -> None:
        if self.topics and envelope.topic_arn not in self.topics:
            raise SnsSignatureError(f"topic {envelope.topic_arn} is not on the allow-list")
        algorithm = HASHES.get(envelope.signature_version)
        if algorithm is None:
            raise SnsSignatureError(f"unknown SignatureVersion {envelope.signature_version!r}")
        self._check_age(envelope.timestamp)
        check_sns_url(envelope.signing_cert_url, "SigningCertURL")
        if not urlsplit(envelope.signing_cert_url).path.endswith(".pem"):
            raise SnsSignatureError("SigningCertURL does not name a .pem certificate")
        key = self._public_key(envelope.signing_cert_url)
        try:
            signature = base64.b64decode(envelope.signature, validate=True)
            key.verify(
                signature, string_to_sign(doc, envelope.type), padding.PKCS1v15(), algorithm()
            )
        except (InvalidSignature, ValueError) as exc:
            raise SnsSignatureError("signature does not match the message") from exc

    def _check_age(self, timestamp: str) -> None:
        try:
            sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise SnsSignatureError(f"unreadable Timestamp {timestamp!r}") from exc
        age = self._clock() - sent
        if age > self.max_age_s or age < -FUTURE_SKEW_S:
            raise SnsSignatureError(f"message timestamp {timestamp} is stale or in the future")

    def _public_key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._keys.get(url)
        if cached is not None:
            return cached
        try:
            cert = x509.load_pem_x509_certificate(self._fetch(url))
        except (httpx.HTTPError, ValueError) as exc:
            raise SnsSignatureError(f"could not load the signing certificate: {exc}") from exc
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SnsSignatureError("signing certificate does not hold an RSA key")
        with self._lock:
            if len(self._keys) >= CERT_CACHE_SIZE:
                self._keys.pop(next(iter(self._keys)))
            self._keys[url] = key
        return key
