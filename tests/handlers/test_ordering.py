from __future__ import annotations

from handlers.ordering import KeyOrder, sequencer_value
from ingest_service.jobs.layout import BucketLayout
from ingest_service.jobs.source import ObjectRef
from storage import ObjectStore


def _ref(sequencer: str | None, etag: str = "a") -> ObjectRef:
    return ObjectRef(bucket="b", key="incoming/x.mov", etag=etag, size=1, sequencer=sequencer)


def test_sequencers_compare_as_hex_numbers() -> None:
    assert sequencer_value("0065A1B2C3D4E5F7A2") > sequencer_value("0065A1B2C3D4E5F601")
    assert sequencer_value("FF") < sequencer_value("0100")  # lengths differ


def test_older_events_are_stale_newer_and_repeats_are_not(store: ObjectStore) -> None:
    order = KeyOrder(store, BucketLayout())
    assert not order.is_stale(_ref("0065A1B2C3D4E5F602", "new"))
    assert not order.is_stale(_ref("0065A1B2C3D4E5F602", "new"))  # redelivery
    assert order.is_stale(_ref("0065A1B2C3D4E5F601", "old"))  # arrived late
    assert not order.is_stale(_ref("0065A1B2C3D4E5F603", "newer"))
    assert not order.is_stale(_ref(None))  # no sequencer: never stale
    assert not order.is_stale(_ref("not-hex"))
