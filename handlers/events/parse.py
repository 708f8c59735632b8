"""Which format a body is in, decided by its content (and SNS's header)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from handlers.errors import EventFormatError
from handlers.events.eventbridge import parse_eventbridge
from handlers.events.notice import Parsed
from handlers.events.s3 import parse_s3_notification


class Shape(StrEnum):
    SNS = "sns"
    EVENTBRIDGE = "eventbridge"
    S3 = "s3"
    S3_TEST = "s3-test"


# The formats we read nest six levels at most; a deeper body is not one of them, and
# parsing much deeper would exhaust the interpreter's stack.
MAX_DEPTH = 32


def load_json(body: bytes) -> dict[str, Any]:
    """A JSON object whose strings are all valid Unicode, nested at most `MAX_DEPTH` deep."""
    try:
        doc = json.loads(body)
    except RecursionError as exc:
        raise EventFormatError(f"body is JSON nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise EventFormatError(f"body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise EventFormatError("body is JSON but not an object")
    _check_values(doc)
    return doc


def _check_values(doc: dict[str, Any]) -> None:
    """Walked with a stack of its own: recursion is what a hostile body would exhaust."""
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if isinstance(value, dict):
            children: list[object] = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise EventFormatError(f"body is JSON nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON may spell a lone surrogate ("\ud800"); no key, bucket or ETag holds one.
        raise EventFormatError(
            f"body holds a lone surrogate ({text[exc.start]!a}): not valid Unicode"
        ) from exc


def shape_of(doc: Mapping[str, Any], headers: Mapping[str, str]) -> Shape:
    if headers.get("x-amz-sns-message-type") or ("TopicArn" in doc and "Type" in doc):
        return Shape.SNS
    if "detail-type" in doc and doc.get("source") == "aws.s3":
        return Shape.EVENTBRIDGE
    if "Records" in doc:
        return Shape.S3
    if doc.get("Event") == "s3:TestEvent":
        return Shape.S3_TEST
    raise EventFormatError(
        "unrecognised event: expected an S3 notification (Records), an SNS message, "
        "an EventBridge S3 event or a MinIO webhook"
    )


def parse_object_events(doc: dict[str, Any], shape: Shape) -> Parsed:
    """Notices from an S3/MinIO notification or an EventBridge event (not SNS)."""
    if shape is Shape.EVENTBRIDGE:
        return parse_eventbridge(doc)
    if shape is Shape.S3:
        return parse_s3_notification(doc)
    return Parsed()  # the test message: acknowledged, nothing to do
