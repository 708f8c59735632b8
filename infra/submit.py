"""`ingest-service submit s3://bucket/key --modal`: hand a plate already in the bucket to
the deployed app, which claims it with its own settings and credentials."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from infra.deployment import app_name
from ingest_service.cli.main import EXIT_OK, EXIT_USAGE, Command
from ingest_service.errors import IngestError
from ingest_service.jobs.record import JobRecord

HELP = "hand a plate in the bucket to the deployed service (to run one here: process)"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key`; the key as S3 spells it, not URL-decoded."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise ValueError(f"expected s3://<bucket>/<key>, not {uri!r}")
    return bucket, key


def submit_to_modal(uri: str, *, app: str, environment: str | None = None) -> JobRecord:
    """Claim the object in the deployed app and start its job; its record as it stands."""
    import modal  # the `modal` extra; only these commands need it

    bucket, key = split_s3_uri(uri)
    submit = modal.Function.from_name(app, "submit", environment_name=environment)
    return JobRecord.model_validate_json(submit.remote(key, bucket))


def add_submit(commands: Any, common: argparse.ArgumentParser) -> dict[str, Command]:
    submit = commands.add_parser("submit", parents=[common], help=HELP, description=__doc__)
    submit.add_argument("uri", help="s3://<bucket>/<key> of a plate already in the bucket")
    submit.add_argument("--modal", action="store_true", help="the app deployed on Modal")
    submit.add_argument("--app", default=app_name(), help="the Modal app's name")
    submit.add_argument("--env", dest="environment", help="Modal environment (default: yours)")
    return {"submit": cmd_submit}


def cmd_submit(args: argparse.Namespace) -> int:
    if not args.modal:
        print("error: say where: --modal (here: ingest-service process)", file=sys.stderr)
        return EXIT_USAGE
    try:
        import modal.exception
    except ImportError:
        print("error: pip install 'ingest-service[modal]' first", file=sys.stderr)
        return EXIT_USAGE
    try:
        record = submit_to_modal(args.uri, app=args.app, environment=args.environment)
    except (ValueError, IngestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except modal.exception.NotFoundError as exc:
        print(f"error: {exc} (deploy first: modal deploy infra/modal_app.py)", file=sys.stderr)
        return EXIT_USAGE
    print(f"{record.job_id}: {record.state} (s3://{record.source.bucket}/{record.source.key})")
    return EXIT_OK
