"""The `ingest-service` command: the domain's commands plus `serve`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ingest_service.cli.main import EXIT_OK, Command, services_for
from ingest_service.cli.main import main as domain_main


def add_serve(commands: Any, common: argparse.ArgumentParser) -> dict[str, Command]:
    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="watch the bucket: webhook, poller and workers in one process",
        description="Start the webhook (POST /events), poll the drop zone every interval and "
        "run jobs here. The webhook token comes from INGEST_WEBHOOK_TOKEN.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="listen port (default 8000)")
    serve.add_argument("--poll-interval", type=float, help="seconds between polls (default 30)")
    serve.add_argument("--workers", type=int, help="jobs run at once (default 1)")
    return {"serve": cmd_serve}


def cmd_serve(args: argparse.Namespace) -> int:
    from handlers.serve import serve  # uvicorn is only needed here

    services = services_for(args, poll_interval_s=args.poll_interval, serve_workers=args.workers)
    serve(services, host=args.host, port=args.port)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return domain_main(argv, extend=add_serve)


if __name__ == "__main__":
    sys.exit(main())
