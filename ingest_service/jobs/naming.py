"""Readable, safe output paths from arbitrary object keys."""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata

MAX_SEGMENT = 64
MAX_DEPTH = 6
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_segment(text: str) -> str:
    """ASCII letters, digits, `.`, `_`, `-`; accents folded, everything else becomes `_`.

    Long segments are cut and given a short hash of the original so that two long
    names that share a beginning still land in different folders.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", folded).strip("._-")
    if len(cleaned) > MAX_SEGMENT:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        cleaned = f"{cleaned[: MAX_SEGMENT - 9].rstrip('._-')}_{digest}"
    return cleaned


def shot_path(key: str, incoming_prefix: str) -> str:
    """The shot's folder under the published prefix: the key's folders and stem, made safe.

    `incoming/show/sq010/sh0040 plate v1.mov` → `show/sq010/sh0040_plate_v1`. `..` and
    empty segments are dropped, so no key can climb out of the published prefix.
    """
    relative = key[len(incoming_prefix) :] if key.startswith(incoming_prefix) else key
    parts = [p for p in relative.split("/") if p not in ("", ".", "..")]
    if parts:
        parts[-1] = posixpath.splitext(parts[-1])[0]
    safe = [s for s in (safe_segment(p) for p in parts) if s not in ("", ".", "..")]
    # Keep the deepest folders: the shot is named by the file, its context by what is above.
    safe = safe[-MAX_DEPTH:]
    return "/".join(safe) or "untitled"


def slug(text: str, max_len: int = 32) -> str:
    """A short lowercase tag for ids, from a shot path's last segment."""
    last = text.rsplit("/", 1)[-1]
    return safe_segment(last).lower()[:max_len].rstrip("._-") or "plate"
