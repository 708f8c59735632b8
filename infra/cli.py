"""The `ingest-service` command: the domain's commands, `serve`, and `aws setup|policy`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import boto3

from handlers.cli import add_serve
from infra.aws_setup import least_privilege_policy, setup_cors, setup_eventbridge, setup_sns
from infra.smoke import add_modal
from infra.submit import add_submit
from ingest_service.cli.main import EXIT_OK, EXIT_USAGE, Command
from ingest_service.cli.main import main as domain_main
from ingest_service.settings import load_settings


def add_aws(commands: Any, common: argparse.ArgumentParser) -> dict[str, Command]:
    aws = commands.add_parser("aws", help="wire an S3 bucket to the webhook; print IAM policy")
    actions = aws.add_subparsers(dest="aws_command", required=True, metavar="ACTION")
    # Every action names the bucket; those that call AWS also take its region.
    bucket = argparse.ArgumentParser(add_help=False, parents=[common])
    bucket.add_argument("--bucket", required=True)
    calls = argparse.ArgumentParser(add_help=False, parents=[bucket])
    calls.add_argument("--region", help="AWS region (default: the standard AWS lookup)")
    setup = actions.add_parser(
        "setup",
        parents=[calls],
        help="create or update the bucket notification (via SNS or EventBridge)",
        description="Idempotent: run it again after changing the URL or the drop zone. The "
        "webhook token comes from INGEST_WEBHOOK_TOKEN.",
    )
    setup.add_argument("--webhook-url", required=True, help="https://…/events")
    setup.add_argument("--via", choices=["sns", "eventbridge"], default="sns")
    policy = actions.add_parser(
        "policy", parents=[bucket], help="print the least-privilege IAM policy for the service"
    )
    policy.add_argument(
        "--browser-uploads",
        action="store_true",
        help="also allow the dashboard's uploads into the drop zone",
    )
    cors = actions.add_parser(
        "cors", parents=[calls], help="let the dashboard upload straight to the bucket"
    )
    cors.add_argument(
        "--origin",
        action="append",
        required=True,
        help="the dashboard's origin, e.g. https://ingest.example.com",
    )
    return {"aws": cmd_aws}


def cmd_aws(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.aws_command == "policy":
        doc = least_privilege_policy(
            args.bucket, settings.layout, browser_uploads=args.browser_uploads
        )
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    if args.aws_command == "cors":
        s3 = boto3.session.Session(region_name=args.region).client("s3")
        for line in setup_cors(s3, bucket=args.bucket, origins=args.origin):
            print(line)
        return EXIT_OK
    if settings.webhook_token is None:
        print(
            "error: set INGEST_WEBHOOK_TOKEN first: the webhook refuses requests without it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    session = boto3.session.Session(region_name=args.region)
    token = settings.webhook_token.get_secret_value()
    common = {
        "bucket": args.bucket,
        "prefix": settings.incoming_prefix,
        "webhook_url": args.webhook_url,
        "token": token,
    }
    try:
        if args.via == "sns":
            report = setup_sns(session.client("s3"), session.client("sns"), **common)
        else:
            report = setup_eventbridge(
                session.client("s3"), session.client("events"), session.client("iam"), **common
            )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for action in report.actions:
        print(action)
    return EXIT_OK


def extend(commands: Any, common: argparse.ArgumentParser) -> dict[str, Command]:
    return {
        **add_serve(commands, common),
        **add_aws(commands, common),
        **add_submit(commands, common),
        **add_modal(commands, common),
    }


def main(argv: list[str] | None = None) -> int:
    return domain_main(argv, extend=extend)


if __name__ == "__main__":
    sys.exit(main())
