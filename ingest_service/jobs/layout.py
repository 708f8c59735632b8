"""The bucket's layout: every prefix we use, and every key built from one.

Nothing else in the code spells a prefix. The three roots are settings (`incoming/`,
`published/`, `.ingest/` by default); everything under `.ingest/` is ours alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Index keys sort newest first: a fixed-width countdown of milliseconds, then the id.
_INDEX_STAMP = 13


@dataclass(frozen=True)
class BucketLayout:
    incoming: str = "incoming/"
    published: str = "published/"
    state: str = ".ingest/"
    # Folders under `state`: job records; one empty marker per unfinished job (the
    # poller lists only these); one empty marker per job, newest first in key order (the
    # dashboard pages it).
    jobs: str = field(init=False)
    active: str = field(init=False)
    index: str = field(init=False)

    def __post_init__(self) -> None:
        for folder in ("jobs", "active", "index"):
            object.__setattr__(self, folder, f"{self.state}{folder}/")

    # -- the drop zone: plates and their sidecars, never modified or deleted by us --------

    def dropped(self, name: str) -> str:
        """The key a plate named `name` gets when we put it in the drop zone."""
        return f"{self.incoming}{name}"

    def sidecar(self, plate_key: str) -> str:
        return f"{plate_key}.json"

    def plate_of_sidecar(self, sidecar_key: str) -> str:
        return sidecar_key.removesuffix(".json")

    # -- published results ------------------------------------------------------------------

    def output(self, shot: str, version: str) -> str:
        """The version folder every output of one job goes under."""
        return f"{self.published}{shot}/{version}/"

    # -- our own state under .ingest/ --------------------------------------------------------

    def job(self, job_id: str) -> str:
        return f"{self.jobs}{job_id}.json"

    def job_id_of(self, key: str) -> str | None:
        """The job a record's key names; None for any other key."""
        if key.startswith(self.jobs) and key.endswith(".json"):
            return key[len(self.jobs) : -len(".json")]
        return None

    def active_marker(self, job_id: str) -> str:
        return f"{self.active}{job_id}"

    def index_marker(self, created_at: datetime, job_id: str) -> str:
        millis = int(created_at.timestamp() * 1000)
        return f"{self.index}{10**_INDEX_STAMP - millis:0{_INDEX_STAMP}d}-{job_id}"

    def job_id_of_index(self, key: str) -> str:
        return key[len(self.index) + _INDEX_STAMP + 1 :]

    def versions(self, shot: str) -> str:
        """Markers of which job owns which version folder of `shot`."""
        return f"{self.state}versions/{shot}/"

    def version_marker(self, shot: str, version: str) -> str:
        return f"{self.versions(shot)}{version}.json"

    def key_order(self, digest: str) -> str:
        """The newest S3 event sequencer seen for one key (named by a hash of it)."""
        return f"{self.state}keys/{digest}"

    def work(self, job_id: str) -> str:
        """Intermediate files between the distributed parts of a job's stages."""
        return f"{self.state}work/{job_id}/"

    @property
    def notification_log(self) -> str:
        """Where a folder bucket keeps its log of notifications (a key, as a path)."""
        return f"{self.state}notifications.jsonl"
