"""Names a deployment is known by, shared by the app's definition and the commands that
reach it from a laptop."""

from __future__ import annotations

import os

DEFAULT_APP = "ingest-service"


def app_name() -> str:
    """The Modal app's name: `INGEST_MODAL_APP`, else ingest-service."""
    return os.environ.get("INGEST_MODAL_APP", DEFAULT_APP)
