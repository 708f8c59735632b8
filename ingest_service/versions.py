"""Version folders (v001, v002, …): one per job, allocated once with a conditional create."""

from __future__ import annotations

import json
import re

from storage import ObjectStore, PreconditionFailedError

_MARKER = re.compile(r"v(\d{3,})\.json")


def allocate_version(store: ObjectStore, versions_prefix: str, shot: str, job_id: str) -> str:
    """The version folder name for this job's outputs of `shot`.

    Each version is claimed by creating `<versions_prefix><shot>/vNNN.json` only if it
    does not exist, so two jobs for the same shot never share a folder, and a job that
    crashed after claiming finds its own marker again instead of taking a new number.
    """
    prefix = f"{versions_prefix}{shot}/"
    taken: dict[int, str] = {}
    for info in store.list(prefix):
        match = _MARKER.fullmatch(info.key[len(prefix) :])
        if match:
            taken[int(match.group(1))] = info.key
    for number in sorted(taken):
        if _owner(store, taken[number]) == job_id:
            return f"v{number:03d}"
    number = max(taken, default=0) + 1
    while True:
        key = f"{prefix}v{number:03d}.json"
        body = json.dumps({"job_id": job_id}).encode()
        try:
            store.put(key, body, content_type="application/json", if_none_match=True)
            return f"v{number:03d}"
        except PreconditionFailedError:
            if _owner(store, key) == job_id:
                return f"v{number:03d}"
            number += 1


def _owner(store: ObjectStore, key: str) -> str | None:
    try:
        return str(json.loads(store.get(key).data)["job_id"])
    except (ValueError, KeyError):
        return None
