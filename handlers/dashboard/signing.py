"""Expiring, signed URLs for what a folder store serves itself (files, upload parts).

S3 presigns its own URLs; a folder bucket has none, so the web app serves those paths and
checks an HMAC over the path and expiry, keyed from the webhook token. A link in a page (an
image, a download) then needs no credentials of its own, and stops working when it
expires, as an S3 presigned link does.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from pydantic import SecretStr


class UrlSigner:
    def __init__(self, token: SecretStr | None) -> None:
        secret = token.get_secret_value().encode() if token else b""
        self.key = hmac.new(secret, b"ingest-service dashboard urls", hashlib.sha256).digest()
        self.enabled = token is not None

    def sign(self, text: str) -> str:
        """An HMAC of `text` (any str, lone surrogates too)."""
        return hmac.new(self.key, _bytes(text), hashlib.sha256).hexdigest()

    def url(self, path: str, *, expires_s: int = 3600) -> str:
        expires = int(time.time()) + expires_s
        sig = self.sign(f"{path}\n{expires}")
        return f"{quote(path)}?expires={expires}&sig={sig}"

    def valid(self, path: str, expires: int, sig: str) -> bool:
        if not self.enabled or expires < time.time():
            return False
        return same(self.sign(f"{path}\n{expires}"), sig)


def same(expected: str, given: str) -> bool:
    """A constant-time comparison that takes any str (compare_digest's str is ASCII only)."""
    return hmac.compare_digest(_bytes(expected), _bytes(given))


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # no two strs give the same bytes
