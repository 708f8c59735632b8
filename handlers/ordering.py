"""Per-key ordering of S3 events: an event older than one already seen is stale."""

from __future__ import annotations

import hashlib
import json

from ingest_service.objects import ObjectRef
from storage import ConflictError, ObjectNotFoundError, ObjectStore, PreconditionFailedError

ATTEMPTS = 5


def sequencer_value(sequencer: str) -> int:
    """S3 sequencers are hex strings of varying length; compare them as numbers."""
    return int(sequencer, 16)


class KeyOrder:
    """The highest sequencer seen per key, kept as a small object per key.

    Only AWS's own sequencers are meaningful (MinIO's are not synchronised across a
    cluster), and events without one are never called stale.
    """

    def __init__(self, store: ObjectStore, *, prefix: str = ".ingest/keys/") -> None:
        self._store = store
        self._prefix = prefix

    def is_stale(self, ref: ObjectRef) -> bool:
        if not ref.sequencer:
            return False
        try:
            seen = sequencer_value(ref.sequencer)
        except ValueError:
            return False
        key = self._prefix + hashlib.sha256(f"{ref.bucket}/{ref.key}".encode()).hexdigest()[:40]
        body = json.dumps({"key": ref.key, "sequencer": ref.sequencer, "etag": ref.etag}).encode()
        for _ in range(ATTEMPTS):
            try:
                stored = self._store.get(key)
            except ObjectNotFoundError:
                try:
                    self._store.put(key, body, content_type="application/json", if_none_match=True)
                    return False
                except (PreconditionFailedError, ConflictError):
                    continue
            latest = sequencer_value(json.loads(stored.data)["sequencer"])
            if seen < latest:
                return True
            if seen == latest:
                return False  # a duplicate delivery: the claim dedupes it
            try:
                self._store.put(key, body, content_type="application/json",
                                if_match=stored.info.etag)  # fmt: skip
                return False
            except (PreconditionFailedError, ConflictError):
                continue
        return False  # contended: let the claim decide rather than drop the event
