"""Races: two service instances over one bucket, each with its webhook, poller and
workers, and every plate's event delivered several times to both: exactly one job, one
manifest and one signed `job.published` per plate.

Both instances read one clock the test moves (each reading a millisecond after the last),
never the wall clock: a slow machine changes the interleaving, not what may be re-run.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from handlers.admission import Gate
from handlers.app import create_app
from handlers.poller import Poller
from ingest_service.jobs.states import JobState
from ingest_service.notify.signing import verify
from ingest_service.run.threads import ThreadDispatcher
from ingest_service.samples.plate import make_plate
from ingest_service.services import Services
from storage import LocalStore, ObjectInfo, ObjectStore, S3Store, make_client
from tests.atomic_moto import atomic_moto
from tests.clock import Clock
from tests.conftest import BUCKET, make_settings
from tests.handlers.conftest import AUTH, TOKEN
from tests.handlers.events.test_parse import event
from tests.http_receiver import Receiver

PLATES = 8
SIGNING_KEY = b"race-signing-key-0123456789abcdef"
SEED = 20261129
JSON = {**AUTH, "Content-Type": "application/json"}
Opener = Callable[[], ObjectStore]


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A quarter second at 64x36: probe and frames take a fraction of a second."""
    folder = tmp_path_factory.mktemp("race-plate")
    return make_plate(folder / "p.mov", seconds=0.25, width=64, height=36).read_bytes()


@pytest.fixture(params=["folder", "s3"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the one bucket afresh for each instance: its own store, its own client."""
    if request.param == "folder":
        yield lambda: LocalStore(tmp_path / "bucket")
        return
    request.getfixturevalue(atomic_moto.__name__)
    with mock_aws():
        make_client(region="us-east-1").create_bucket(Bucket=BUCKET)
        yield lambda: S3Store(BUCKET, client=make_client(region="us-east-1"))


@dataclass
class Instance:
    """One `serve`: services over its own store, a worker pool, the webhook, a poller."""

    services: Services
    workers: ThreadDispatcher
    webhook: TestClient
    poller: Poller
    redispatched: int = 0

    @classmethod
    def start(cls, store: ObjectStore, clock: Clock, folder: Path, **settings: object) -> Instance:
        services = Services.build(make_settings(folder, **settings), store=store)
        services.ledger.clock = clock
        workers = ThreadDispatcher(services, workers=2)
        webhook = TestClient(create_app(services, workers))
        # One request before the race: FastAPI completes its models lazily, and two
        # threads doing that at once trip pydantic's warnings.
        assert webhook.post("/events", content=_s3_test_event(), headers=JSON).status_code == 200
        return cls(services, workers, webhook, Poller(Gate(services, workers), clock=clock))

    def poll_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.redispatched += len(self.poller.poll_once().redispatched)
            stop.wait(0.05)  # a pause between passes, to leave the CPUs to the workers


def _s3_test_event() -> bytes:
    """What S3 sends when a notification is set up: nothing to claim."""
    return json.dumps(event("s3_test_event.json")).encode()


def _s3_event(bucket: str, info: ObjectInfo, sequencer: int) -> bytes:
    doc = event("s3_put.json")
    record = doc["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"].update(
        key=info.key, eTag=info.etag, size=info.size, sequencer=f"{sequencer:016X}"
    )
    del record["s3"]["object"]["versionId"]  # the bucket keeps no versions, as S3 then says
    return json.dumps(doc).encode()


def _deliveries(instances: list[Instance], events: list[bytes]) -> list[list[Any]]:
    """Each event to both instances and once more to one of them, in a shuffled order,
    split over two delivering threads per instance."""
    rng = random.Random(SEED)
    sends = [(i, body) for body in events for i in (0, 1, rng.randrange(2))]
    rng.shuffle(sends)
    return [sends[n::4] for n in range(4)]


def _settled(services: Services) -> bool:
    """Every plate has a job, and every job has finished and recorded its notification."""
    records = list(services.ledger.list())
    return (
        len(records) == PLATES
        and all(r.finished and r.notified() for r in records)
        and not list(services.ledger.unfinished())
    )


@pytest.mark.slow
@pytest.mark.parametrize("dispatch_grace_s", [None, 0.001], ids=["patient", "eager"])
def test_two_instances_webhooks_and_pollers_make_one_job_manifest_and_notification_per_plate(
    opener: Opener,
    plate: bytes,
    tmp_path: Path,
    receiver: Receiver,
    dispatch_grace_s: float | None,
) -> None:
    """`eager` re-dispatches every unstarted job at every pass of both pollers, so that
    workers of both instances race for the same jobs too."""
    uploads = opener()
    infos = [uploads.put(f"incoming/race/p{n:02d}.mov", plate) for n in range(PLATES)]
    # Starts when the last upload landed, by the bucket's account: every plate has settled.
    clock = Clock(max(i.last_modified for i in uploads.list("incoming/")), tick_s=0.001)
    instances = [
        Instance.start(
            opener(),
            clock,
            tmp_path / f"instance{n}",
            settle_s=0,
            webhook_token=TOKEN,
            notify_url=receiver.url,
            notify_signing_key=SIGNING_KEY.decode(),
            notify_log=None,
            dispatch_grace_s=dispatch_grace_s,
        )
        for n in range(2)
    ]
    # Every fourth plate's event is lost: only a poller can find it.
    events = [_s3_event(uploads.bucket, info, n + 1) for n, info in enumerate(infos) if n % 4 != 3]
    answers: list[int] = []

    def deliver(sends: list[Any]) -> None:
        for i, body in sends:
            response = instances[i].webhook.post("/events", content=body, headers=JSON)
            answers.append(response.status_code)

    stop = threading.Event()
    threads = [threading.Thread(target=x.poll_until, args=(stop,)) for x in instances]
    threads += [threading.Thread(target=deliver, args=(s,)) for s in _deliveries(instances, events)]
    for t in threads:
        t.start()
    try:
        for _ in range(600):  # a bound on a hang, not a timing: 60 s of 0.1 s checks
            if len(answers) == 3 * len(events) and _settled(instances[0].services):
                break
            stop.wait(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
        for x in instances:
            x.workers.shutdown(wait=True)

    assert answers == [200] * 3 * len(events)
    services = instances[0].services
    records = list(services.ledger.list())
    assert sorted(r.source.key for r in records) == [info.key for info in infos]
    assert {r.state for r in records} == {JobState.PUBLISHED}
    sent = {r.job_id: [d.event for d in r.deliveries] for r in records}
    assert sent == {r.job_id: ["job.published"] for r in records}
    manifests = [i.key for i in uploads.list("published/") if i.key.endswith("/manifest.json")]
    assert sorted(manifests) == sorted(str(r.manifest_key) for r in records)
    published = Counter[str]()
    for headers, body in receiver.requests:
        assert verify(SIGNING_KEY, body, headers)
        note = json.loads(body)
        assert note["event"] == "job.published"
        published[note["job_id"]] += 1
    assert published == Counter({r.job_id: 1 for r in records})
    if dispatch_grace_s is None:  # every job started within its grace: none sent twice
        assert [x.redispatched for x in instances] == [0, 0]
