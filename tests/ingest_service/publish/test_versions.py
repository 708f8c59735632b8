from __future__ import annotations

import threading

from ingest_service.jobs.layout import BucketLayout
from ingest_service.publish.versions import allocate_version
from storage import ObjectStore

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
    store = racing_store
    got: list[str] = []
    barrier = threading.Barrier(5)

    def allocate(n: int) -> None:
        barrier.wait()
        got.append(allocate_version(store, PREFIX, "sh", f"job-{n}"))

    threads = [threading.Thread(target=allocate, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == ["v001", "v002", "v003", "v004", "v005"]
