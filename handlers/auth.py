"""The webhook's shared token: a bearer header, or basic auth as SNS sends it from the URL."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from handlers.errors import EventAuthError


def check_token(headers: Mapping[str, str], token: SecretStr | None) -> None:
    """Raise unless the request presents the token; compared in constant time."""
    if token is None:
        raise EventAuthError("the webhook is disabled: INGEST_WEBHOOK_TOKEN is not set")
    presented = _presented(headers.get("authorization", ""))
    expected = token.get_secret_value().encode()
    if presented is None or not hmac.compare_digest(presented, expected):
        raise EventAuthError("missing or wrong webhook token")


def _presented(header: str) -> bytes | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip().encode()
    if scheme.lower() == "basic":
        # https://user:TOKEN@host/events in an SNS subscription arrives as basic auth.
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(b":")[2]
    return None
