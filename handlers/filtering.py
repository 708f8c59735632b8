"""Which objects start anything: footage and sidecars under the watched prefix, nothing else."""

from __future__ import annotations

from enum import StrEnum

from ingest_service.settings import Settings

# Containers FFmpeg decodes that cameras, phones and editorial deliver plates in.
# A table of names reads best packed, so the formatter leaves it as written.
FOOTAGE_EXTENSIONS = frozenset({
    ".mov", ".mp4", ".m4v", ".mxf", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".ts",
    ".mpg", ".mpeg", ".wmv", ".3gp", ".dv", ".y4m", ".ogv",
})  # fmt: skip
# Names upload tools and operating systems write before the final name appears.
TEMP_SUFFIXES = (".partial", ".part", ".tmp", ".temp", ".crdownload", ".download", "~")
TEMP_PREFIXES = ("._", ".~", "~$")
SYSTEM_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


class Kind(StrEnum):
    PLATE = "plate"
    SIDECAR = "sidecar"


def _is_footage(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in FOOTAGE_EXTENSIONS


def classify(key: str, settings: Settings) -> Kind | str:
    """A `Kind`, or the reason the object is ignored."""
    if not key.startswith(settings.incoming_prefix):
        return f"outside the watched prefix {settings.incoming_prefix}"
    if key.endswith("/"):
        return "a folder marker"
    name = key.rsplit("/", 1)[-1]
    lowered = name.lower()
    if lowered in SYSTEM_NAMES or lowered.endswith(TEMP_SUFFIXES) or name.startswith(TEMP_PREFIXES):
        return "a temporary, partial or system file"
    if lowered.endswith(".json"):
        return Kind.SIDECAR if _is_footage(name[: -len(".json")]) else "not a plate's sidecar"
    if _is_footage(name):
        return Kind.PLATE
    return f"not a footage file ({name[name.rfind('.') :] if '.' in name else 'no extension'})"


def is_create_event(event: str) -> bool:
    return event.startswith("ObjectCreated")
