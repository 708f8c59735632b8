"""`ingest-service models`: what the neural backends can use, and fetching it once."""

from __future__ import annotations

import argparse
import sys

from ingest_service.models.catalogue import CATALOGUE, download
from ingest_service.settings import load_settings


def add_models(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser(
        "models", help="list or download the neural backends' weights (into INGEST_MODELS_DIR)"
    )
    actions = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="known models and whether their weights are here")
    fetch = actions.add_parser(
        "download",
        help="snapshot models from the Hugging Face hub (sam3 is gated: accept its licence "
        "and set HF_TOKEN)",
    )
    fetch.add_argument("names", nargs="+", metavar="NAME", choices=sorted(CATALOGUE))


def cmd_models(args: argparse.Namespace) -> int:
    folder = load_settings().models_dir
    if args.models_command == "list":
        print(f"{'NAME':<26} {'KIND':<6} {'HERE':<5} REPOSITORY")
        for entry in CATALOGUE.values():
            here = "yes" if (folder / entry.name / "config.json").is_file() else "no"
            gated = " (gated)" if entry.gated else ""
            print(f"{entry.name:<26} {entry.kind:<6} {here:<5} {entry.repo_id}{gated}")
        print(f"models folder: {folder.resolve()}", file=sys.stderr)
        return 0
    for name in args.names:
        print(download(name, folder))
    return 0
