from __future__ import annotations

from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.source import ObjectRef


def _ref(**overrides: object) -> ObjectRef:
    values: dict[str, object] = {
        "bucket": "studio-plates",
        "key": "incoming/sh0040 plate.mov",
        "etag": "9b2cf535f27731c974343645a3985328",
        "size": 10,
    }
    values.update(overrides)
    return ObjectRef(**values)  # type: ignore[arg-type]


def test_same_upload_seen_by_any_trigger_has_one_id() -> None:
    from_event = _ref(version_id="3HL4kqtJvjVBH40Nrjfkd", sequencer="0065A1B2C3D4E5F601")
    from_listing = _ref(etag='"9B2CF535F27731C974343645A3985328"')  # quoted, upper case
    assert job_id_for(from_event) == job_id_for(from_listing)


def test_new_content_or_other_key_or_bucket_is_another_job() -> None:
    base = job_id_for(_ref())
    assert job_id_for(_ref(etag="d41d8cd98f00b204e9800998ecf8427e-640")) != base
    assert job_id_for(_ref(key="incoming/sh0050 plate.mov")) != base
    assert job_id_for(_ref(bucket="other")) != base


def test_id_is_readable_and_key_safe() -> None:
    job_id = job_id_for(_ref())
    assert job_id.startswith("sh0040_plate-")
    assert all(c.isalnum() or c in "._-" for c in job_id)
