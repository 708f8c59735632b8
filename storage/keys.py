"""Key rules shared by backends that map keys onto a filesystem."""

from __future__ import annotations

from storage.errors import InvalidKeyError

MAX_KEY_BYTES = 1024  # S3's own limit


def check_key(key: str) -> str:
    """Refuse keys that could escape a folder or that S3 itself would refuse."""
    if not key:
        raise InvalidKeyError("empty key", key=key)
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKeyError(f"key longer than {MAX_KEY_BYTES} bytes", key=key)
    if "\x00" in key or "\\" in key:
        raise InvalidKeyError("key contains a NUL byte or a backslash", key=key)
    if key.startswith("/"):
        raise InvalidKeyError("key starts with '/'", key=key)
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise InvalidKeyError("key has an empty, '.' or '..' segment", key=key)
    return key
