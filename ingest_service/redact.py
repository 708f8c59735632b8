"""Scrub credentials from text before it reaches a record, a manifest or a log."""

from __future__ import annotations

import re

_PATTERNS = [
    (re.compile(r"(://)[^/@\s:]+:[^/@\s]+@"), r"\1***@"),  # user:password@ in URLs
    (re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s]+", re.I), r"\1***"),
    (re.compile(r"(aws_secret_access_key|secret|token|password)(\s*[=:]\s*)\S+", re.I), r"\1\2***"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), r"\1****************"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
