"""The webhook app: events in, jobs claimed and dispatched, never run in the request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from handlers.admission import Admission, Gate
from handlers.auth import check_token
from handlers.browser import (
    BrowserGuard,
    bucket_origins,
    content_security_policy,
    signed_url_routes,
)
from handlers.dashboard.routes import dashboard
from handlers.errors import EventAuthError, EventFormatError, SnsSignatureError
from handlers.events.parse import Shape, load_json, parse_object_events, shape_of
from handlers.events.sns import SnsEnvelope, parse_sns
from handlers.sns_signature import SnsVerifier, check_sns_url, check_topic_list, fetch_https
from ingest_service.metrics import METRICS
from ingest_service.run.dispatch import Dispatcher
from ingest_service.services import Services
from storage import InvalidKeyError, StorageError

log = logging.getLogger(__name__)


class Item(BaseModel):
    key: str | None
    job_id: str | None = None
    state: str | None = None
    reason: str | None = None


class EventsResponse(BaseModel):
    format: str
    claimed: list[Item]
    duplicates: list[Item]
    ignored: list[Item]
    sidecars: list[Item]
    note: str | None = None


class Health(BaseModel):
    status: str
    bucket: str


def _authorised(request: Request) -> None:
    try:
        check_token(request.headers, request.app.state.services.settings.webhook_token)
    except EventAuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


Authorised = Annotated[None, Depends(_authorised)]


def create_app(
    services: Services,
    dispatcher: Dispatcher,
    *,
    verifier: SnsVerifier | None = None,
    fetch: Callable[[str], bytes] = fetch_https,
) -> FastAPI:
    """The ASGI app; tests and `serve` (and Modal) each build their own."""
    settings = services.settings
    check_topic_list(settings)
    gate = Gate(services, dispatcher)
    verifier = verifier or SnsVerifier(
        topics=frozenset(settings.sns_topic_arns), max_age_s=settings.sns_max_age_s, fetch=fetch
    )
    app = FastAPI(title="ingest-service", docs_url=None, redoc_url=None)
    app.state.services = services
    router, static = dashboard(gate)
    app.include_router(router)
    app.mount("/ui/static", static, name="static")
    app.add_middleware(
        BrowserGuard,
        policy=content_security_policy(bucket_origins(services.store)),
        signed=signed_url_routes(router.routes),
    )

    @app.get("/health")
    def health() -> Health:
        return Health(status="ok", bucket=services.store.bucket)

    @app.get("/metrics")
    def metrics(_: Authorised) -> Response:
        """Prometheus text: this process's job outcomes and stage durations, and the
        bucket's unfinished jobs (one listing of the unfinished index)."""
        unfinished = sum(1 for _ in services.ledger.unfinished())
        return Response(
            METRICS.render(unfinished=unfinished), media_type="text/plain; version=0.0.4"
        )

    @app.head("/events")
    def events_alive(_: Authorised) -> Response:
        return Response(status_code=200)  # MinIO checks the endpoint this way

    @app.post("/events")
    async def events(request: Request, _: Authorised) -> EventsResponse:
        body = await _read_limited(request, settings.max_event_bytes)
        try:
            return await run_in_threadpool(_handle, body, dict(request.headers))
        except EventFormatError as exc:
            raise HTTPException(400, str(exc)) from exc
        except SnsSignatureError as exc:
            log.warning("refused an SNS message: %s", exc)
            raise HTTPException(403, f"SNS message refused: {exc}") from exc
        except InvalidKeyError as exc:
            # Bad input, not an outage: a 503 would have the sender deliver it forever.
            raise HTTPException(400, f"key refused: {exc}") from exc
        except StorageError as exc:
            # 503 makes S3, SNS and EventBridge deliver again later; claims are idempotent.
            log.error("could not record events: %s", exc)
            raise HTTPException(503, f"bucket unavailable: {exc}") from exc

    def _handle(body: bytes, headers: dict[str, str]) -> EventsResponse:
        doc = load_json(body)
        shape = shape_of(doc, headers)
        note = None
        if shape is Shape.SNS:
            envelope = parse_sns(doc)
            verifier.verify(envelope, doc)
            note, inner, shape = _unwrap_sns(envelope)
            if inner is None:
                return _response("sns", Admission(), note)
            doc = inner
        parsed = parse_object_events(doc, shape)
        admission = gate.admit(parsed.notices)
        admission.skipped[:0] = parsed.skipped
        if shape is Shape.S3_TEST:
            note = f"{note}; s3:TestEvent acknowledged" if note else "s3:TestEvent acknowledged"
        return _response(shape.value, admission, note)

    def _unwrap_sns(envelope: SnsEnvelope) -> tuple[str, dict[str, Any] | None, Shape]:
        if envelope.type == "SubscriptionConfirmation":
            assert envelope.subscribe_url  # checked by the envelope model
            check_sns_url(envelope.subscribe_url, "SubscribeURL")
            try:
                fetch(envelope.subscribe_url)
            except httpx.HTTPError as exc:
                # SNS sends the confirmation again: answer so that it does.
                raise HTTPException(503, f"could not confirm the subscription: {exc}") from exc
            log.info("confirmed SNS subscription to %s", envelope.topic_arn)
            return f"subscription to {envelope.topic_arn} confirmed", None, Shape.SNS
        if envelope.type == "UnsubscribeConfirmation":
            log.warning("SNS says the subscription to %s was removed", envelope.topic_arn)
            return f"unsubscribed from {envelope.topic_arn} (logged)", None, Shape.SNS
        inner = load_json(envelope.message.encode("utf-8"))
        return f"notification from {envelope.topic_arn}", inner, shape_of(inner, {})

    return app


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _response(fmt: str, admission: Admission, note: str | None) -> EventsResponse:
    return EventsResponse(
        format=fmt,
        claimed=[Item(key=a.key, job_id=a.job_id, state=a.state) for a in admission.claimed],
        duplicates=[Item(key=a.key, job_id=a.job_id, state=a.state) for a in admission.duplicates],
        ignored=[Item(key=s.key, reason=s.reason) for s in admission.skipped],
        sidecars=[Item(key=s.key, reason=s.reason) for s in admission.sidecars],
        note=note,
    )
