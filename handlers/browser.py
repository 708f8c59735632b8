"""What browsers may send us, and what every answer tells them.

The dashboard and the webhook share one token, which a browser caches as basic auth and
then sends with any request to this host, including one a page on another site makes it
send. Such a page can POST a form or `text/plain` without asking; it cannot send JSON or
a custom header without a CORS preflight, which this app never grants. So a request that
changes state must be JSON, or carry SNS's own header (SNS posts `text/plain`, and its
message is then checked by signature), or be authorised by a signed URL instead of the
browser's credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage import ObjectStore, StorageError

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Headers only a preflighted request (or a client that is not a browser) can carry.
CUSTOM_HEADERS = ("x-amz-sns-message-type",)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate CSP's frame-ancestors
    "Referrer-Policy": "same-origin",
}


def content_security_policy(origins: Iterable[str] = ()) -> str:
    """The dashboard loads its own modules and styles and nothing inline; it shows images
    and sends upload parts to this host or to the bucket's (`origins`, for presigned
    URLs); no one may frame it."""
    extra = "".join(f" {origin}" for origin in sorted(set(origins)))
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data:{extra}",  # data: is the page's empty favicon
            f"connect-src 'self'{extra}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def origin_of(url: str | None) -> str | None:
    """`scheme://host[:port]` of an absolute URL; None for a relative one or none."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def bucket_origins(store: ObjectStore) -> list[str]:
    """Where the store's presigned URLs point (images, upload parts); none for a folder."""
    try:
        url = store.presign("origin-probe", expires_s=60)
    except StorageError as exc:
        log.warning("no presigned URLs for the dashboard's policy: %s", exc)
        return []
    origin = origin_of(url)
    return [origin] if origin else []


def signed_url_routes(routes: Iterable[BaseRoute]) -> list[APIRoute]:
    """The routes a signed URL authorises, not the browser's credentials: they take `sig`."""
    return [
        route
        for route in routes
        if isinstance(route, APIRoute)
        and any(param.name == "sig" for param in route.dependant.query_params)
    ]


def declares_intent(headers: Headers) -> bool:
    """JSON, or a header a cross-site page cannot add without a preflight."""
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return True
    return any(name in headers for name in CUSTOM_HEADERS)


class BrowserGuard:
    """ASGI middleware: refuses state changes a cross-site page could forge (415), and
    adds the security headers and `policy` to every response."""

    def __init__(self, app: ASGIApp, *, policy: str, signed: Iterable[BaseRoute]) -> None:
        self.app = app
        self.headers = {**SECURITY_HEADERS, "Content-Security-Policy": policy}
        self.signed = list(signed)  # routes a signed URL authorises, not the browser

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        if (
            scope["method"] not in SAFE_METHODS
            and not declares_intent(Headers(scope=scope))
            and not any(route.matches(scope)[0] is Match.FULL for route in self.signed)
        ):
            refusal = JSONResponse(
                {
                    "detail": "a request that changes state must be JSON "
                    "(Content-Type: application/json)"
                },
                status_code=415,
            )
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
