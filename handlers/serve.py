"""`ingest-service serve`: webhook, poller and an in-process worker pool in one process."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn

from handlers.admission import Gate
from handlers.app import create_app
from handlers.poller import Poller, PollLoop
from ingest_service.run.threads import ThreadDispatcher
from ingest_service.services import Services

log = logging.getLogger(__name__)


def serve(services: Services, *, host: str, port: int) -> None:
    """Run until SIGINT/SIGTERM; then running jobs finish their current stage and are
    handed back (the next start resumes them), and the poller stops."""
    settings = services.settings
    dispatcher = ThreadDispatcher(services, workers=settings.serve_workers)
    poller = PollLoop(Poller(Gate(services, dispatcher)), settings.poll_interval_s)
    app = create_app(services, dispatcher)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    webhook = "on" if settings.webhook_token else "off (set INGEST_WEBHOOK_TOKEN)"
    log.warning(
        "watching %s/%s every %.0f s; webhook %s at http://%s:%d/events; %d job(s) at a time",
        services.store.uri,
        settings.incoming_prefix,
        settings.poll_interval_s,
        webhook,
        host,
        port,
        settings.serve_workers,
    )
    # uvicorn re-raises the signal that stopped it once it has restored the handlers it
    # found; ours turn that into an orderly drain instead of an abrupt exit. A second
    # Ctrl-C while draining interrupts the running stage (the job is handed back).
    signals: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals.append(signum)
        if len(signals) > 1:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    poller.start()
    try:
        server.run()
    finally:
        log.warning("shutting down: running jobs stop after their current stage")
        poller.stop()
        dispatcher.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
