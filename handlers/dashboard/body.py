"""The dashboard API's JSON bodies: read with a bound, refused in words that always encode.

FastAPI's own body handling answers a bad value with a 422 that quotes the value back,
and a value holding a lone surrogate then fails to encode: the answer becomes a 500. Here
the body is read up to a limit, parsed and validated by the route's model (pydantic's
parser refuses lone surrogates and deep nesting), and a refusal names fields, never the
input, in text that is escaped where it could not be sent.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ValidationError

from ingest_service.validation import describe

M = TypeVar("M", bound=BaseModel)
# 10,000 parts of a completion at about 60 bytes each, with room for the options.
MAX_BODY_BYTES = 2 * 1024 * 1024


def plain(text: str) -> str:
    """`text` as it can be sent in a JSON answer: a lone surrogate is written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def refuse(status: int, message: str, **kwargs: Any) -> HTTPException:
    return HTTPException(status, plain(message), **kwargs)


def json_body(model: type[M]) -> Any:
    """A dependency giving the request's body as `model`, or a 4xx that says why not."""

    async def parse(request: Request) -> M:
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise refuse(413, f"request body over {MAX_BODY_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise refuse(413, f"request body over {MAX_BODY_BYTES} bytes")
        try:
            return model.model_validate_json(bytes(body))
        except ValidationError as exc:
            raise refuse(422, describe(exc, limit=5, root="body")) from exc

    return Depends(parse)
