"""Version folders (v001, v002, …): one per job, allocated once with a conditional create."""

from __future__ import annotations

import json
import re

from ingest_service.jobs.layout import BucketLayout
from storage import ABSENT, Codec, ObjectStore, UpdateGaveUpError, conditional

_MARKER = re.compile(r"v(\d{3,})\.json")
# More versions of one shot than anyone makes; past it, something is wrong.
MAX_VERSIONS = 10_000


def _owner(data: bytes) -> str:
    """The job that holds a version; "" for a marker no one can read (never reused)."""
    try:
        return str(json.loads(data)["job_id"])
    except (ValueError, KeyError, TypeError):
        return ""


MARKER = Codec[str](_owner, lambda job_id: json.dumps({"job_id": job_id}).encode())


def allocate_version(store: ObjectStore, layout: BucketLayout, shot: str, job_id: str) -> str:
    """The version folder name for this job's outputs of `shot`.

    Each version is claimed by creating `.ingest/versions/<shot>/vNNN.json` only if it
    does not exist, so two jobs for the same shot never share a folder, and a job that
    crashed after claiming finds its own marker again instead of taking a new number.
    """
    prefix = layout.versions(shot)
    taken: dict[int, str] = {}
    for info in store.list(prefix):
        match = _MARKER.fullmatch(info.key[len(prefix) :])
        if match:
            taken[int(match.group(1))] = info.key
    for number in sorted(taken):
        if conditional.read(store, taken[number], MARKER).value == job_id:
            return f"v{number:03d}"
    first = max(taken, default=0) + 1
    for number in range(first, first + MAX_VERSIONS):
        marker = conditional.update(
            store,
            layout.version_marker(shot, f"v{number:03d}"),
            lambda owner: job_id if owner is None else None,
            MARKER,
            start=ABSENT,
        )
        if marker.value == job_id:
            return f"v{number:03d}"
    raise UpdateGaveUpError(
        f"no free version of {shot} in {MAX_VERSIONS} tries", key=prefix, attempts=MAX_VERSIONS
    )
