"""The bucket layout users and their tools rely on: every key as the docs spell it."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest_service.jobs.layout import BucketLayout


def test_default_keys_are_the_documented_layout() -> None:
    layout = BucketLayout()
    assert layout.dropped("sh0040.mov") == "incoming/sh0040.mov"
    assert layout.sidecar("incoming/a/sh0040.mov") == "incoming/a/sh0040.mov.json"
    assert layout.plate_of_sidecar("incoming/a/sh0040.mov.json") == "incoming/a/sh0040.mov"
    assert layout.output("sq010/sh0040", "v002") == "published/sq010/sh0040/v002/"
    assert layout.job("sh0040-0123") == ".ingest/jobs/sh0040-0123.json"
    assert layout.job_id_of(".ingest/jobs/sh0040-0123.json") == "sh0040-0123"
    assert layout.job_id_of(".ingest/jobs/notes.txt") is None
    assert (
        layout.version_marker("sq010/sh0040", "v002") == ".ingest/versions/sq010/sh0040/v002.json"
    )
    assert layout.active_marker("sh0040-0123") == ".ingest/active/sh0040-0123"
    assert layout.key_order("ab" * 20) == ".ingest/keys/" + "ab" * 20
    assert layout.work("sh0040-0123") == ".ingest/work/sh0040-0123/"


def test_the_index_sorts_newest_first_and_names_the_job() -> None:
    layout = BucketLayout()
    older = layout.index_marker(datetime(2026, 1, 1, tzinfo=UTC), "old-1")
    newer = layout.index_marker(datetime(2026, 6, 1, tzinfo=UTC), "new-2")
    assert older.startswith(".ingest/index/") and newer < older
    assert [layout.job_id_of_index(k) for k in (newer, older)] == ["new-2", "old-1"]


def test_prefixes_come_from_settings() -> None:
    layout = BucketLayout(incoming="drop/", published="out/", state=".state/")
    assert layout.dropped("x.mov") == "drop/x.mov"
    assert layout.output("sh", "v001") == "out/sh/v001/"
    assert layout.job("j") == ".state/jobs/j.json"
