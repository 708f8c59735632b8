"""At 5 % injected S3 faults every job still publishes, and the drop zone is never touched.

The real pipeline runs in process (probe and frames, on tiny plates) against a moto server
behind the fault-injecting endpoint. A job is run as a worker runs it; a job that ends
failed but retryable is run again, as the poller would, within its attempts.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState
from ingest_service.run import pipeline
from ingest_service.run.intake import claim_plate
from ingest_service.samples.plate import make_plate
from ingest_service.services import Services
from storage import S3Store, make_client
from tests.conftest import make_settings
from tests.reliability.faulty_s3 import Fault, FaultyS3

pytestmark = pytest.mark.slow

RATE = 0.05
SEED = 20261129
PLATES = 6
# One of each fault, forced where it hurts most, on top of the random ones.
FORCED = [
    (Fault.DROP_AFTER, "PUT", "/.ingest/jobs/"),  # the claim landed; the claimer never heard
    (Fault.DROP_BEFORE, "PUT", "/published/"),
    (Fault.TRUNCATE, "GET", "/incoming/"),  # the plate, mid-read
    (Fault.TRUNCATE, "GET", "/.ingest/jobs/"),  # a job record, mid-read
    (Fault.SLOW_DOWN, "PUT", "/.ingest/jobs/"),
    (Fault.INTERNAL_ERROR, "HEAD", "/incoming/"),
]


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries are under test, not botocore's seconds-long waits between them."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def _snapshot(store: S3Store, prefix: str) -> dict[str, tuple[str, str]]:
    return {
        info.key: (info.etag, hashlib.sha256(store.get(info.key).data).hexdigest())
        for info in store.list(prefix)
    }


def _run_until_settled(job_id: str, services: Services) -> tuple[JobRecord, int]:
    """The job's final record, and how many times it was run."""
    runs = 0
    while True:
        record = pipeline.run_dispatched(job_id, services)
        runs += 1
        if record.state is not JobState.FAILED or not record.retry_allowed:
            return record, runs


def test_every_job_publishes_through_five_percent_faults(
    moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = f"faults-{uuid.uuid4().hex[:8]}"
    direct = S3Store(bucket, client=make_client(endpoint_url=moto_server, region="us-east-1"))
    direct.client.create_bucket(Bucket=bucket)
    keys = []
    for n in range(PLATES):
        plate = make_plate(tmp_path / f"sh{n:03d}.mov", seconds=1, width=64, height=48, fps="16")
        keys.append(f"incoming/sq010/{plate.name}")
        direct.upload(keys[-1], plate, content_type="video/quicktime")
    incoming_before = _snapshot(direct, "incoming/")

    with FaultyS3(moto_server, rate=RATE, seed=SEED) as faulty:
        for fault, method, path in FORCED:
            faulty.force(fault, method=method, path_contains=path)
        store = S3Store(bucket, client=make_client(endpoint_url=faulty.url, region="us-east-1"))
        services = Services.build(make_settings(tmp_path, store=f"s3://{bucket}"), store=store)
        results: dict[str, Any] = {}
        unheard = 0
        for key in keys:
            ref = ObjectRef.of(bucket, store.head(key))
            # A claim whose write landed unheard reads as a duplicate; the job is there to run.
            unheard += not claim_plate(services, ref).claimed
            record, runs = _run_until_settled(job_id_for(ref), services)
            results[key] = (record, runs)
        injected, requests = dict(faulty.injected), faulty.requests

    for key, (record, _runs) in results.items():
        assert record.state is JobState.PUBLISHED, (key, record.error)
        assert record.manifest_key is not None
        manifest = json.loads(direct.get(record.manifest_key).data)
        assert len(manifest["files"]) >= 8  # every frame, and the thumbnail
    assert len({r.output_prefix for r, _ in results.values()}) == PLATES
    log = services.settings.notify_log
    assert log is not None
    notes = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted((n["job_id"], n["event"]) for n in notes) == sorted(
        (r.job_id, "job.published") for r, _ in results.values()
    )  # one notification per job, and only the success
    assert _snapshot(direct, "incoming/") == incoming_before
    for fault, _method, _path in FORCED:
        assert injected.get(fault, 0) >= 1, fault
    with capsys.disabled():
        counts = ", ".join(f"{f.name.lower()} {injected.get(f, 0)}" for f in Fault)
        reruns = sum(runs - 1 for _, runs in results.values())
        print(
            f"\nS3 faults: {sum(injected.values())} of {requests} requests ({counts}); "
            f"{PLATES} of {PLATES} jobs published, {reruns} re-runs, "
            f"{unheard} claims heard as duplicates"
        )
