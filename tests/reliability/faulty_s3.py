"""An S3 endpoint that misbehaves on purpose: a proxy on loopback in front of a moto server.

At a set rate, drawn from a seeded RNG, a request is answered with one of the faults S3 and
the networks in front of it really produce: a 500 InternalError, a 503 SlowDown, a connection
dropped before the request reaches the bucket, one dropped after the write has landed (the
client cannot know it succeeded), or a response body cut short. Targeted tests can also force
a fault on the next matching requests. Every injected fault is counted by kind.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from storage import S3Store, make_client

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
}


class Fault(StrEnum):
    INTERNAL_ERROR = "500 InternalError"
    SLOW_DOWN = "503 SlowDown"
    DROP_BEFORE = "connection dropped before the request was forwarded"
    DROP_AFTER = "connection dropped after the request was served"
    TRUNCATE = "response body cut short"


ERRORS = {Fault.INTERNAL_ERROR: (500, "InternalError"), Fault.SLOW_DOWN: (503, "SlowDown")}


@dataclass
class Forced:
    """The next `times` requests that match get `fault`, whatever the rate says."""

    fault: Fault
    times: int
    method: str | None = None
    path_contains: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and (self.method is None or self.method == method)
            and self.path_contains in path
        )


class FaultyS3:
    """Start it, point a client's `endpoint_url` at `url`, read `injected` afterwards."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        seed: int = 0,
        faults: tuple[Fault, ...] = tuple(Fault),
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate = rate
        self.faults = faults
        self.injected: Counter[Fault] = Counter()
        self.requests = 0
        self._rng = random.Random(seed)
        self._forced: list[Forced] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.faulty = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def store(self, bucket: str) -> S3Store:
        """A store that talks to moto through this proxy (the bucket made if absent)."""
        client = make_client(endpoint_url=self.url, region="us-east-1")
        if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
            client.create_bucket(Bucket=bucket)
        return S3Store(bucket, client=client)

    def force(
        self, fault: Fault, times: int = 1, *, method: str | None = None, path_contains: str = ""
    ) -> None:
        with self._lock:
            self._forced.append(Forced(fault, times, method, path_contains))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any: a forced one first, else one at `rate`."""
        with self._lock:
            self.requests += 1
            for forced in self._forced:
                if forced.matches(method, path):
                    forced.times -= 1
                    return forced.fault
            if self._rng.random() >= self.rate:
                return None
            # A body can only be cut short when there is one to send.
            usable = [f for f in self.faults if f is not Fault.TRUNCATE or method == "GET"]
            return self._rng.choice(usable) if usable else None

    def count(self, fault: Fault) -> None:
        with self._lock:
            self.injected[fault] += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as S3 clients pool connections

    def do_GET(self) -> None:
        self._proxy()

    def do_HEAD(self) -> None:
        self._proxy()

    def do_PUT(self) -> None:
        self._proxy()

    def do_POST(self) -> None:
        self._proxy()

    def do_DELETE(self) -> None:
        self._proxy()

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def faulty(self) -> FaultyS3:
        return self.server.faulty  # type: ignore[attr-defined,no-any-return]

    def _proxy(self) -> None:
        body = self._request_body()
        fault = self.faulty.pick(self.command, self.path)
        if fault is Fault.DROP_BEFORE:
            self._drop(fault)
            return
        if fault in ERRORS:
            self._error(fault)
            return
        status, reason, headers, payload = self._forward(body)
        if fault is Fault.DROP_AFTER or (fault is Fault.TRUNCATE and len(payload) < 2):
            self._drop(Fault.DROP_AFTER)
            return
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and (
                name.lower() != "content-length" or self.command == "HEAD"
            ):
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault is Fault.TRUNCATE:
            # The headers promised the whole body; half of it arrives, then the line drops.
            self.wfile.write(payload[: len(payload) // 2])
            self._drop(fault)
            return
        self.wfile.write(payload)

    def _request_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(*self.faulty.upstream, timeout=60)
        try:
            # The Host header stays the client's own: it is part of what the client signed.
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            return response.status, response.reason, response.getheaders(), payload
        finally:
            connection.close()

    def _error(self, fault: Fault) -> None:
        status, code = ERRORS[fault]
        payload = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>injected by the test endpoint</Message></Error>"
        ).encode()
        self.faulty.count(fault)
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self, fault: Fault) -> None:
        self.faulty.count(fault)
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone first
            self.connection.shutdown(socket.SHUT_RDWR)
