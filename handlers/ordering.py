"""Per-key ordering of S3 events: an event older than one already seen is stale."""

from __future__ import annotations

import hashlib
import json
import logging

from ingest_service.jobs.layout import BucketLayout
from ingest_service.jobs.source import ObjectRef
from storage import Codec, ObjectStore, UpdateGaveUpError, conditional

log = logging.getLogger(__name__)
SEEN = Codec[dict[str, str]](json.loads, lambda doc: json.dumps(doc).encode())


def sequencer_value(sequencer: str) -> int:
    """S3 sequencers are hex strings of varying length; compare them as numbers."""
    return int(sequencer, 16)


class KeyOrder:
    """The highest sequencer seen per key, kept as a small object per key.

    Only AWS's own sequencers are meaningful (MinIO's are not synchronised across a
    cluster), and events without one are never called stale.
    """

    def __init__(self, store: ObjectStore, layout: BucketLayout) -> None:
        self._store = store
        self._layout = layout

    def is_stale(self, ref: ObjectRef) -> bool:
        if not ref.sequencer:
            return False
        try:
            seen = sequencer_value(ref.sequencer)
        except ValueError:
            return False
        digest = hashlib.sha256(f"{ref.bucket}/{ref.key}".encode()).hexdigest()[:40]
        key = self._layout.key_order(digest)
        newest = {"key": ref.key, "sequencer": ref.sequencer, "etag": ref.etag}

        def keep_newest(stored: dict[str, str] | None) -> dict[str, str] | None:
            if stored is None or seen > sequencer_value(stored["sequencer"]):
                return newest
            return None  # as new (a duplicate delivery: the claim dedupes it) or older

        try:
            latest = conditional.update(self._store, key, keep_newest, SEEN)
        except UpdateGaveUpError as exc:
            log.warning("event order for %s not checked: %s", ref.key, exc)
            return False  # contended: let the claim decide rather than drop the event
        assert latest.value is not None
        return seen < sequencer_value(latest.value["sequencer"])
