"""Webhook throughput and poller request counts.

* Events/s accepted by `POST /events` (an S3 notification per request, each a new
  object: parse, order check, claim, dispatch), in process (ASGI test client) and over
  HTTP (uvicorn on loopback, S3 on a local moto server). Baseline in the same process:
  `GET /health` on the same app, the framework's floor.
* S3 requests made by one poller pass over 10 k and 100 k objects, steady state (every
  object already has a job), counted by operation.

    python bench/events.py [--events 500] [--objects 10000,100000]
Figures go to bench/results/events.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[name] = value

import logging

import httpx
import uvicorn
from fastapi.testclient import TestClient
from moto import mock_aws
from moto.server import ThreadedMotoServer

from handlers.admission import Gate
from handlers.app import create_app
from handlers.poller import Poller
from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.source import ObjectRef
from ingest_service.services import Services
from ingest_service.settings import Settings
from storage import LocalStore, ObjectStore, S3Store, make_client

TOKEN = "bench-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


class CountingDispatcher:
    def __init__(self) -> None:
        self.count = 0

    def submit(self, job_id: str) -> bool:
        self.count += 1
        return True


def s3_event(bucket: str, i: int) -> bytes:
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": bucket},
            "object": {
                "key": f"incoming/bench/sh{i:06d}+plate.mov",
                "size": 1000,
                "eTag": f"{i:032x}",
                "sequencer": f"{i:018X}",
            },
        },
    }
    return json.dumps({"Records": [record]}).encode()


def settings(store: ObjectStore, tmp: Path) -> Settings:
    return Settings(store=str(tmp), webhook_token=TOKEN, notify_log=tmp / "n.jsonl", settle_s=0)


def bench_in_process(store: ObjectStore, tmp: Path, n: int) -> dict[str, Any]:
    services = Services.build(settings(store, tmp), store=store)
    client = TestClient(create_app(services, CountingDispatcher()))
    t0 = time.perf_counter()
    for _ in range(n):
        client.get("/health")
    health = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(n):
        response = client.post("/events", content=s3_event(store.bucket, i), headers=AUTH)
        assert response.status_code == 200 and response.json()["claimed"], response.text
    events = n / (time.perf_counter() - t0)
    return {
        "health_per_s": round(health, 1),
        "events_per_s": round(events, 1),
        "ratio_events_to_health": round(events / health, 3),
    }


def bench_http(tmp: Path, n: int, concurrency: int) -> dict[str, Any]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    client = make_client(endpoint_url=f"http://{host}:{port}", region="us-east-1")
    client.create_bucket(Bucket="bench-plates")
    store = S3Store("bench-plates", client=client)
    services = Services.build(settings(store, tmp), store=store)
    app = create_app(services, CountingDispatcher())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    web_port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{web_port}"
    with httpx.Client() as http, ThreadPoolExecutor(concurrency) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda _: http.get(f"{url}/health"), range(n)))
        health = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        codes = list(
            pool.map(
                lambda i: (
                    http.post(
                        f"{url}/events", content=s3_event("bench-plates", i), headers=AUTH
                    ).status_code
                ),
                range(n),
            )
        )
        events = n / (time.perf_counter() - t0)
    server.should_exit = True
    thread.join()
    moto.stop()
    assert set(codes) == {200}
    return {
        "health_per_s": round(health, 1),
        "events_per_s": round(events, 1),
        "ratio_events_to_health": round(events / health, 3),
        "concurrency": concurrency,
    }


def bench_poller(n: int, tmp: Path) -> dict[str, Any]:
    with mock_aws():
        client = make_client(region="us-east-1")
        client.create_bucket(Bucket="poll-plates")
        store = S3Store("poll-plates", client=client)
        services = Services.build(settings(store, tmp), store=store)
        for i in range(n):  # every object, and a job for each: the steady state
            info = store.put(f"incoming/p/{i // 1000:03d}/sh{i:06d}.mov", b"x")
            ref = ObjectRef(bucket=store.bucket, key=info.key, etag=info.etag, size=1)
            store.put(services.ledger.key(job_id_for(ref)), b"{}")
        calls: Counter[str] = Counter()
        client.meta.events.register(
            "before-call.s3.*", lambda **kw: calls.update([kw["model"].name])
        )
        t0 = time.perf_counter()
        report = Poller(Gate(services, CountingDispatcher())).poll_once()
        seconds = time.perf_counter() - t0
    assert report.listed == n and not report.admission.claimed
    return {
        "objects": n,
        "requests": dict(calls),
        "total_requests": sum(calls.values()),
        "seconds_on_moto": round(seconds, 2),
    }


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--objects", default="10000,100000")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "events.json")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        results["in_process_local_folder"] = bench_in_process(
            LocalStore(base / "folder"), base / "a", args.events
        )
        with mock_aws():
            client = make_client(region="us-east-1")
            client.create_bucket(Bucket="ev-plates")
            results["in_process_moto"] = bench_in_process(
                S3Store("ev-plates", client=client), base / "b", args.events
            )
        results["http_moto_server"] = bench_http(base / "c", args.events, args.concurrency)
        results["poller"] = [bench_poller(int(n), base / f"p{n}") for n in args.objects.split(",")]

    print(f"{'webhook':<26}{'events/s':>10}{'health/s':>10}{'ratio':>8}")
    for name in ("in_process_local_folder", "in_process_moto", "http_moto_server"):
        r = results[name]
        print(
            f"{name:<26}{r['events_per_s']:>10.0f}{r['health_per_s']:>10.0f}"
            f"{r['ratio_events_to_health']:>8.2f}"
        )
    print(f"\n{'poller pass':<14}{'requests':>9}  by operation")
    for r in results["poller"]:
        print(f"{r['objects']:>8} objs{r['total_requests']:>9}  {r['requests']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures in {args.out}")


if __name__ == "__main__":
    main()
