"""`ingest-service serve`: webhook, poller and an in-process worker pool in one process."""

from __future__ import annotations

import logging

import uvicorn

from handlers.admission import Gate
from handlers.app import create_app
from handlers.poller import Poller, PollLoop
from ingest_service.dispatch import ThreadDispatcher
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
        services.store.uri, settings.incoming_prefix, settings.poll_interval_s, webhook,
        host, port, settings.serve_workers,
    )  # fmt: skip
    poller.start()
    try:
        server.run()
    finally:
        log.warning("shutting down: running jobs stop after their current stage")
        poller.stop()
        dispatcher.shutdown(wait=True)
