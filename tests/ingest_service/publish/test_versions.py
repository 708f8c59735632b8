from __future__ import annotations

from ingest_service.jobs.layout import BucketLayout
from ingest_service.publish.versions import allocate_version
from storage import ObjectStore
from tests.race import race

PREFIX = BucketLayout()


def test_versions_count_up_per_shot(store: ObjectStore) -> None:
    assert allocate_version(store, PREFIX, "show/sh0040", "job-a") == "v001"
    assert allocate_version(store, PREFIX, "show/sh0040", "job-b") == "v002"
    assert allocate_version(store, PREFIX, "show/sh0050", "job-c") == "v001"


def test_a_job_asking_again_gets_its_own_version(store: ObjectStore) -> None:
    allocate_version(store, PREFIX, "sh", "job-a")
    allocate_version(store, PREFIX, "sh", "job-b")
    assert allocate_version(store, PREFIX, "sh", "job-a") == "v001"


def test_nested_shot_folders_do_not_count(store: ObjectStore) -> None:
    allocate_version(store, PREFIX, "sh/sub", "job-a")
    assert allocate_version(store, PREFIX, "sh", "job-b") == "v001"


def test_concurrent_jobs_get_distinct_versions(racing_store: ObjectStore) -> None:
    got = race(5, lambda n: allocate_version(racing_store, PREFIX, "sh", f"job-{n}"))
    assert sorted(got) == ["v001", "v002", "v003", "v004", "v005"]
