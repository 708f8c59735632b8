"""Key rules shared by backends that map keys onto a filesystem."""

from __future__ import annotations

from storage.errors import InvalidKeyError

MAX_KEY_BYTES = 1024  # S3's own limit
MAX_SEGMENT_BYTES = 255  # NAME_MAX of the filesystems a folder store lives on


def check_key(key: str) -> str:
    """Refuse keys that could escape a folder, that a filesystem cannot name, or that S3
    itself would refuse."""
    if not key:
        raise InvalidKeyError("empty key", key=key)
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Only a lone surrogate (a JSON "\ud800" escape) gets here: not a name S3 can hold.
        raise InvalidKeyError("key is not valid Unicode (a lone surrogate)", key=key) from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKeyError(f"key longer than {MAX_KEY_BYTES} bytes", key=key)
    if "\x00" in key or "\\" in key:
        raise InvalidKeyError("key contains a NUL byte or a backslash", key=key)
    if key.startswith("/"):
        raise InvalidKeyError("key starts with '/'", key=key)
    segments = key.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidKeyError("key has an empty, '.' or '..' segment", key=key)
    if any(len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES for segment in segments):
        raise InvalidKeyError(f"key has a segment longer than {MAX_SEGMENT_BYTES} bytes", key=key)
    return key
