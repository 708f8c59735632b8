"""The dashboard API's bodies in, and its refusals out.

JSON bodies are read with a bound and refused in words that always encode; a part's body
is handed to the thread that writes it chunk by chunk, as it arrives; a store's error
becomes the status it stands for, a 503 only when the store is unavailable.

FastAPI's own JSON body handling answers a bad value with a 422 that quotes the value back,
and a value holding a lone surrogate then fails to encode: the answer becomes a 500. Here
the body is read up to a limit, parsed and validated by the route's model (pydantic's
parser refuses lone surrogates and deep nesting), and a refusal names fields, never the
input, in text that is escaped where it could not be sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import anyio.from_thread
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ValidationError

import storage
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


def chunks(request: Request) -> Iterator[bytes]:
    """The request's body, chunk by chunk as it arrives, for a worker thread to write:
    each chunk is fetched on the event loop when the writer asks for it."""
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await anext(stream)
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


# What a store's refusal stands for; any other is a 503 if retrying may help, else a 400.
STORE_STATUS: tuple[tuple[type[storage.StorageError], int], ...] = (
    (storage.InvalidKeyError, 400),
    (storage.ObjectNotFoundError, 404),
    (storage.PreconditionFailedError, 409),
    (storage.ConflictError, 409),
    (storage.AccessDeniedError, 503),
    (storage.BucketNotFoundError, 503),
)


def store_status(exc: storage.StorageError) -> int:
    status = next((status for kind, status in STORE_STATUS if isinstance(exc, kind)), None)
    return status or (503 if exc.retryable else 400)
