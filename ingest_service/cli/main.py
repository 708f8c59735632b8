"""`ingest-service`: process a plate, inspect jobs, make a sample plate.

Exit status: 0 published (or nothing to do), 1 the job failed, 2 bad usage, input or
settings, 3 the store refused or failed (access denied, not found, unreachable).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

from ingest_service.cli.models import add_models, cmd_models
from ingest_service.cli.plates import ref_for_key, ref_for_local_file
from ingest_service.cli.progress import LineProgress, TerminalProgress
from ingest_service.errors import IngestError, JobLeaseHeldError, JobStateError
from ingest_service.jobs.options import FrameFormat
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.states import JobState
from ingest_service.logs import configure_logging
from ingest_service.progress import Progress
from ingest_service.publish.manifest import manifest_json_schema
from ingest_service.run import pipeline
from ingest_service.run.intake import claim_plate, options_for
from ingest_service.samples.plate import CODECS, make_plate
from ingest_service.samples.scene import MOTIONS, render_plate
from ingest_service.services import Services
from ingest_service.settings import load_settings
from storage import StorageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


Command = Callable[[argparse.Namespace], int]
# Adds subcommands (given the subparsers action and the shared options) from outer layers.
Extension = Callable[[Any, argparse.ArgumentParser], dict[str, Command]]


def build_parser(
    extend: Extension | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The parser and its command table; `extend` adds commands from outer layers (serve)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="URI",
        help="bucket: file:///dir, a folder path, or s3://bucket "
        "(default $INGEST_STORE or ./bucket; S3 endpoint from "
        "$AWS_ENDPOINT_URL or $INGEST_S3_ENDPOINT_URL)",
    )
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output")

    parser = argparse.ArgumentParser(
        prog="ingest-service",
        description="Footage ingest for VFX: plates in a bucket become frames and a manifest.",
        epilog="Settings come from INGEST_* environment variables; see the README.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    process = commands.add_parser(
        "process",
        parents=[common],
        help="ingest one plate now and wait for the result",
        description="Put a plate in the drop zone (if it is a local file), claim its job and "
        "run it here. A plate already published is reported, not redone.",
    )
    process.add_argument("path", metavar="PATH", help="a local video file, or a key in the store")
    process.add_argument(
        "--stages", help="comma-separated stages (default: probe,frames,camera,depth,masks)"
    )
    process.add_argument(
        "--format",
        choices=[f.value for f in FrameFormat],
        dest="frame_format",
        help="image format of the frame sequence (default png)",
    )
    process.add_argument("--first-frame", type=int, help="number of the first frame (default 1)")
    process.add_argument(
        "--key", help="key for a local file in the store (default <incoming prefix><file name>)"
    )
    process.add_argument("--json", action="store_true", help="print the final job record as JSON")

    status = commands.add_parser("status", parents=[common], help="show one job")
    status.add_argument("job_id", metavar="JOB_ID")
    status.add_argument("--json", action="store_true", help="print the job record as JSON")

    retry = commands.add_parser(
        "retry",
        parents=[common],
        help="run a failed job again (after fixing its cause)",
        description="Gives a failed job one more attempt and runs it here. If it failed before "
        "any stage ran (a bad sidecar, say), the sidecar is read again.",
    )
    retry.add_argument("job_id", metavar="JOB_ID")
    retry.add_argument("--json", action="store_true", help="print the final job record as JSON")

    jobs = commands.add_parser("jobs", parents=[common], help="list jobs, newest first")
    jobs.add_argument("--state", choices=[s.value for s in JobState], help="only this state")
    jobs.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")

    commands.add_parser("schema", help="print the manifest's JSON Schema")

    sample = commands.add_parser("sample-plate", help="write a synthetic test plate")
    sample.add_argument("output", type=Path, metavar="OUTPUT")
    sample.add_argument("--seconds", type=float, default=2.0)
    sample.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (default 640x360)")
    sample.add_argument("--fps", default="24", help="rate, e.g. 24 or 24000/1001")
    sample.add_argument("--codec", choices=sorted(CODECS), default="h264")
    sample.add_argument(
        "--motion",
        choices=MOTIONS,
        help="render a textured room seen by a moving camera (for the camera "
        "solve) instead of FFmpeg's test pattern",
    )
    sample.add_argument(
        "--mover", action="store_true", help="with --motion: add a box that moves on its own"
    )
    sample.add_argument(
        "--rotation",
        type=int,
        choices=[0, 90, 180, 270],
        default=0,
        help="display-rotation tag, as phones write it",
    )
    add_models(commands)
    table: dict[str, Command] = dict(COMMANDS)
    if extend is not None:
        table.update(extend(commands, common))
    return parser, table


def main(argv: list[str] | None = None, *, extend: Extension | None = None) -> int:
    parser, table = build_parser(extend)
    args = parser.parse_args(argv)
    configure_logging(
        [logging.WARNING, logging.INFO, logging.DEBUG][min(getattr(args, "verbose", 0), 2)],
        os.environ.get("INGEST_LOG_FORMAT", "text"),
    )
    try:
        return table[args.command](args)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except IngestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def services_for(args: argparse.Namespace, **overrides: object) -> Services:
    if args.store:
        overrides["store"] = args.store
    return Services.build(load_settings(**{k: v for k, v in overrides.items() if v is not None}))


def cmd_process(args: argparse.Namespace) -> int:
    services = services_for(
        args, stages=args.stages, frame_format=args.frame_format, first_frame=args.first_frame
    )
    store, settings = services.store, services.settings
    path = Path(args.path)
    if path.is_file():
        layout = settings.layout
        key = args.key or layout.dropped(path.name)
        sidecar = path.with_name(layout.sidecar(path.name))
        if sidecar.is_file():  # options beside the plate travel with it
            ref_for_local_file(store, sidecar, key=layout.sidecar(key))
        ref = ref_for_local_file(store, path, key=key)
    else:
        ref = ref_for_key(store, args.path)
    claim = claim_plate(services, ref)
    record = claim.record
    out = sys.stdout
    if record.state is JobState.PUBLISHED:
        print(f"{record.job_id}: already published; nothing to do", file=sys.stderr)
    else:
        try:
            record = pipeline.run(record.job_id, services, progress=_progress(sys.stderr))
        except (JobStateError, JobLeaseHeldError) as exc:
            # Finished elsewhere, failed for good, or running on another worker right now.
            print(f"{record.job_id}: {exc}", file=sys.stderr)
            record = services.ledger.get(record.job_id)
    _report(record, services, out, as_json=args.json)
    return EXIT_OK if record.state is JobState.PUBLISHED else EXIT_FAILED


def cmd_retry(args: argparse.Namespace) -> int:
    services = services_for(args)
    record = services.ledger.get(args.job_id)
    services.ledger.allow_retry(args.job_id, options_for(services, record.source.key))
    record = pipeline.run(args.job_id, services, progress=_progress(sys.stderr))
    _report(record, services, sys.stdout, as_json=args.json)
    return EXIT_OK if record.state is JobState.PUBLISHED else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    services = services_for(args)
    record = services.ledger.get(args.job_id)
    _report(record, services, sys.stdout, as_json=args.json)
    return EXIT_FAILED if record.state is JobState.FAILED else EXIT_OK


def cmd_jobs(args: argparse.Namespace) -> int:
    services = services_for(args)
    records = [r for r in services.ledger.list() if args.state in (None, r.state)]
    records.sort(key=lambda r: r.updated_at, reverse=True)
    if not records:
        print("no jobs", file=sys.stderr)
        return EXIT_OK
    print(f"{'UPDATED (UTC)':<20} {'STATE':<10} {'STAGE':<8} {'OUTPUT':<40} JOB")
    for r in records[: args.limit]:
        output = f"{r.shot}/{r.version}" if r.shot else r.source.key
        stage = r.current_stage if r.state is JobState.RUNNING else "-"
        print(
            f"{r.updated_at:%Y-%m-%d %H:%M:%S}  {r.state:<10} {stage or '-':<8} "
            f"{output[:40]:<40} {r.job_id}"
        )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(manifest_json_schema())
    return EXIT_OK


def cmd_sample_plate(args: argparse.Namespace) -> int:
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"error: --size must be WIDTHxHEIGHT, not {args.size!r}", file=sys.stderr)
        return EXIT_USAGE
    if args.motion:
        fps = round(float(Fraction(args.fps)))
        render_plate(
            args.output,
            args.motion,
            frames=max(3, round(args.seconds * fps)),
            width=width,
            height=height,
            f=0.78 * width,
            fps=fps,
            mover=args.mover,
        )
        print(args.output)
        return EXIT_OK
    path = make_plate(
        args.output,
        seconds=args.seconds,
        width=width,
        height=height,
        fps=args.fps,
        codec=args.codec,
        rotation=args.rotation,
    )
    print(path)
    return EXIT_OK


COMMANDS: dict[str, Command] = {
    "process": cmd_process,
    "status": cmd_status,
    "retry": cmd_retry,
    "jobs": cmd_jobs,
    "schema": cmd_schema,
    "sample-plate": cmd_sample_plate,
    "models": cmd_models,
}


def _progress(stream: TextIO) -> Progress:
    return TerminalProgress(stream) if stream.isatty() else LineProgress(stream)


def _report(record: JobRecord, services: Services, out: TextIO, *, as_json: bool) -> None:
    if as_json:
        out.write(record.model_dump_json(indent=2) + "\n")
        return
    src = record.source
    lines = [
        f"job      {record.job_id}",
        f"state    {record.state} (attempt {record.attempt} of {record.max_attempts})",
        f"source   {src.bucket}/{src.key} ({src.size:,} bytes)",
    ]
    if record.output_prefix:
        lines.append(f"output   {_where(services, record.output_prefix)}")
    for name, run in record.stages.items():
        detail = f" - {run.error.message}" if run.error else ""
        lines.append(f"stage    {name}: {run.status} in {run.duration_s:.1f}s{detail}")
    if record.manifest_key:
        lines.append(f"manifest {_where(services, record.manifest_key)}")
    if record.error and record.state is JobState.FAILED:
        retry = "will be retried" if record.retry_allowed else "not retried"
        lines.append(f"error    {record.error.message} ({retry})")
    for d in record.deliveries:
        lines.append(f"notified {d.channel} {d.target}: {'ok' if d.ok else d.error}")
    out.write("\n".join(lines) + "\n")


def _where(services: Services, key: str) -> str:
    store = services.store
    path = store.local_path(key.rstrip("/"))  # a folder's key ends in "/"
    return str(path) if path is not None else f"{store.uri}/{key}"


if __name__ == "__main__":
    sys.exit(main())
