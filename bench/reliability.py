"""The figures of docs/RELIABILITY.md, measured by the reliability suite's own scenarios at a
larger scale than the tests run them.

* crash: a worker process killed with SIGKILL at every point of tests/reliability/crash.py,
  on several plates; each job resumed by a poller on another worker.
* faults: plates through the fault-injecting S3 endpoint (tests/reliability/faulty_s3.py)
  at a set rate: jobs published, re-runs, incoming/ unchanged, notifications per job.
* races: two service instances over one folder bucket, each with its webhook, poller and
  workers, every event delivered three times and every fourth lost (the races suite's
  instances and deliveries): jobs, manifests and job.published per plate.
* lost answers: conditional updates whose answer is dropped after the write landed.
* hostile input: the property tests over `POST /events`, the upload API and storage keys
  (random, deep, huge, unicode and control-character input; the bucket listed after every
  example), run as the suite runs them: tests and examples passed.
* memory: a real `serve` process taking a large upload part by part, and a part that runs
  far past the size its upload declared: the server's peak RSS growth (VmHWM).

    python bench/reliability.py [--only crash,faults,races,lost] [--crash-plates 2]
        [--fault-plates 20] [--fault-rate 0.05] [--race-plates 24] [--writes 50] [--upload-mib 256]
Figures go to bench/results/reliability.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import httpx
from botocore.retries.standard import ExponentialBackoff
from moto.server import ThreadedMotoServer

from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.source import ObjectRef
from ingest_service.jobs.states import JobState
from ingest_service.notify.signing import verify
from ingest_service.run.intake import claim_plate
from ingest_service.samples.plate import make_plate
from ingest_service.samples.scene import render_plate
from ingest_service.services import Services
from storage import LocalStore, S3Store, make_client
from storage.conditional import update
from tests.clock import Clock
from tests.conftest import make_settings
from tests.handlers.conftest import TOKEN
from tests.handlers.dashboard.uploader import BASIC, MIB
from tests.http_receiver import Receiver
from tests.reliability import test_races as races
from tests.reliability.crash import KILL_POINTS
from tests.reliability.crash_cases import crash, uninterrupted, verdict
from tests.reliability.faulty_s3 import Fault, FaultyS3
from tests.reliability.test_s3_faults import FORCED, _run_until_settled, _snapshot
from tests.storage.test_s3_lost_writes import COUNTER, KEY, _bump

SEED = 20261129
MOTIONS = ["dolly", "orbit", "handheld"]


@contextmanager
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def bench_crash(plates: int, folder: Path) -> dict[str, Any]:
    """Every kill point on each plate (a different camera motion each)."""
    cases: list[dict[str, Any]] = []
    for n in range(plates):
        plate = folder / f"plate{n}" / f"sh{n:03d}.mov"
        plate.parent.mkdir(parents=True)
        motion = MOTIONS[n % len(MOTIONS)]
        render_plate(plate, motion, frames=8 + 4 * n, width=96, height=54, f=75.0)
        key = f"incoming/sq010/{plate.name}"
        whole = uninterrupted(plate, key, folder / f"whole{n}")
        for point in KILL_POINTS:
            result = crash(plate, key, point, folder / f"crash{n}-{point.name}")
            kept = verdict(result, whole)
            cases.append(
                {
                    "plate": f"{motion}, {8 + 4 * n} frames",
                    "point": point.name,
                    "stages_done_at_kill": sorted(result.left.done),
                    "broken": [p for p, ok in kept.items() if not ok],
                    "promises": len(kept),
                    "job_published_sent": result.sent,
                    "seconds": round(result.seconds, 2),
                }
            )
            status = "ok" if not cases[-1]["broken"] else f"BROKEN {cases[-1]['broken']}"
            print(f"  crash {motion:<8} {point.name:<17} {status}", flush=True)
    return {
        "cases": len(cases),
        "resumed_identical": sum(not c["broken"] for c in cases),
        "duplicate_notifications": sum(c["job_published_sent"] - 1 for c in cases),
        "rows": cases,
    }


def bench_faults(plates: int, rate: float, folder: Path) -> dict[str, Any]:
    """Every plate claimed and run (again while it fails retryably) through the faults."""
    _no_backoff()
    with moto_server() as upstream:
        direct = S3Store("faults", client=make_client(endpoint_url=upstream, region="us-east-1"))
        direct.client.create_bucket(Bucket="faults")
        keys = _drop_plates(direct, plates, folder)
        before = _snapshot(direct, "incoming/")
        with FaultyS3(upstream, rate=rate, seed=SEED) as faulty:
            # The suite's worst places first, then faults at `rate` anywhere.
            for fault, method, where in FORCED:
                faulty.force(fault, method=method, path_contains=where)
            store = faulty.store("faults")
            services = Services.build(make_settings(folder, store="s3://faults"), store=store)
            runs = {}
            for key in keys:
                ref = ObjectRef.of(store.bucket, store.head(key))
                claim_plate(services, ref)
                runs[key] = _run_until_settled(job_id_for(ref), services)
            injected, requests = dict(faulty.injected), faulty.requests
        unchanged = _snapshot(direct, "incoming/") == before
    log = services.settings.notify_log
    assert log is not None
    notes = Counter(
        (note["job_id"], note["event"]) for note in map(json.loads, log.read_text().splitlines())
    )
    published = [r for r, _ in runs.values() if r.state is JobState.PUBLISHED]
    return {
        "plates": plates,
        "rate": rate,
        "requests": requests,
        "faults": sum(injected.values()),
        "by_fault": {f.name.lower(): injected.get(f, 0) for f in Fault},
        "published": len(published),
        "re_runs": sum(n - 1 for _, n in runs.values()),
        "incoming_unchanged": unchanged,
        "job_published_per_job": sorted(
            Counter(notes[(r.job_id, "job.published")] for r in published).items()
        ),
        "other_notifications": sum(n for (_, e), n in notes.items() if e != "job.published"),
    }


def _drop_plates(store: S3Store, plates: int, folder: Path) -> list[str]:
    """Plates of 16 to 28 frames at 64x48 in the drop zone; their keys."""
    keys = []
    for n in range(plates):
        path = folder / f"sh{n:03d}.mov"
        make_plate(path, seconds=1 + (n % 4) / 4, width=64, height=48, fps="16")
        keys.append(f"incoming/sq010/{path.name}")
        store.upload(keys[-1], path, content_type="video/quicktime")
    return keys


def bench_races(plates: int, folder: Path) -> dict[str, Any]:
    """The races suite's two instances, at `plates` plates on one folder bucket."""
    plate = make_plate(folder / "p.mov", seconds=0.25, width=64, height=36).read_bytes()
    bucket = folder / "bucket"
    uploads = LocalStore(bucket)
    infos = [uploads.put(f"incoming/race/p{n:03d}.mov", plate) for n in range(plates)]
    clock = Clock(max(i.last_modified for i in uploads.list("incoming/")), tick_s=0.001)
    receiver = Receiver([])
    receiver.thread.start()
    instances = [
        races.Instance.start(
            LocalStore(bucket),
            clock,
            folder / f"instance{n}",
            settle_s=0,
            webhook_token=TOKEN,
            notify_url=receiver.url,
            notify_signing_key=races.SIGNING_KEY.decode(),
            notify_log=None,
        )
        for n in range(2)
    ]
    events = [
        races._s3_event(uploads.bucket, info, n + 1) for n, info in enumerate(infos) if n % 4 != 3
    ]
    answers: Counter[int] = Counter()

    def deliver(sends: list[Any]) -> None:
        for i, body in sends:
            answers[
                instances[i].webhook.post("/events", content=body, headers=races.JSON).status_code
            ] += 1

    services = instances[0].services

    def settled() -> bool:
        records = list(services.ledger.list())
        return len(records) == plates and all(r.finished and r.notified() for r in records)

    stop = threading.Event()
    threads = [threading.Thread(target=x.poll_until, args=(stop,)) for x in instances]
    threads += [
        threading.Thread(target=deliver, args=(s,)) for s in races._deliveries(instances, events)
    ]
    started = time.perf_counter()
    try:
        for t in threads:
            t.start()
        _wait(lambda: sum(answers.values()) == 3 * len(events) and settled(), 1200)
    finally:
        _halt(stop, threads, instances)
        receiver.server.shutdown()
    records = list(services.ledger.list())
    manifests = [i.key for i in uploads.list("published/") if i.key.endswith("/manifest.json")]
    sent = Counter[str]()
    for headers, body in receiver.requests:
        note = json.loads(body)
        if verify(races.SIGNING_KEY, body, headers) and note["event"] == "job.published":
            sent[note["job_id"]] += 1
    return {
        "plates": plates,
        "deliveries": 3 * len(events),
        "lost_events": plates - len(events),
        "answers": dict(answers),
        "jobs": len(records),
        "published": sum(r.state is JobState.PUBLISHED for r in records),
        "manifests": len(manifests),
        "job_published_per_job": sorted(Counter(sent[r.job_id] for r in records).items()),
        "redispatched": [x.redispatched for x in instances],
        "seconds": round(time.perf_counter() - started, 1),
    }


def _halt(stop: threading.Event, threads: list[threading.Thread], instances: list[Any]) -> None:
    """Pollers and deliveries stopped, then each instance's workers drained."""
    stop.set()
    for t in threads:
        t.join()
    for x in instances:
        x.workers.shutdown(wait=True)


def bench_lost(writes: int) -> dict[str, Any]:
    """`writes` increments, every one of whose answers is lost after it landed."""
    _no_backoff()
    with moto_server() as upstream, FaultyS3(upstream) as faulty:
        store = faulty.store("lost-answers")
        store.put(KEY, COUNTER.dump({"attempt": 0}))
        faulty.force(Fault.DROP_AFTER, times=writes, method="PUT", path_contains=KEY)
        written = sum(update(store, KEY, _bump, COUNTER).written for _ in range(writes))
        dropped = faulty.injected[Fault.DROP_AFTER]
        return {
            "writes": writes,
            "answers_lost": dropped,
            "reported_written": written,
            "counter": COUNTER.load(store.get(KEY).data)["attempt"],
        }


HOSTILE = [
    "tests/handlers/test_events_properties.py",
    "tests/handlers/dashboard/test_upload_properties.py",
    "tests/storage/test_keys.py",
]


def bench_hostile() -> dict[str, Any]:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    argv += ["--hypothesis-show-statistics", *HOSTILE]
    run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3600)

    def total(pattern: str) -> int:
        return sum(int(n) for n in re.findall(pattern, run.stdout))

    return {
        "modules": HOSTILE,
        "tests_passed": total(r"(\d+) passed"),
        "tests_failed": total(r"(\d+) failed"),
        "properties": len(re.findall(r"^\S+::\S+:$", run.stdout, re.MULTILINE)),
        "examples_passed": total(r"(\d+) passing,"),
        "examples_failed": total(r"(\d+) failing,"),
        "exit_status": run.returncode,
    }


def bench_memory(mib: int, folder: Path) -> dict[str, Any]:
    """Peak RSS of `ingest-service serve` on a folder bucket, before and after each upload."""
    port = _free_port()
    env = {**os.environ, "INGEST_WEBHOOK_TOKEN": TOKEN, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "handlers.cli", "serve", "--store", str(folder / "bucket")]
    argv += ["--port", str(port), "--poll-interval", "3600"]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _answers(f"{base}/health"), 120)
        start = _peak_rss_mib(server.pid)
        with httpx.Client(base_url=base, headers=BASIC, timeout=120) as client:
            ticket = client.post("/api/uploads", json={"name": "big.mov", "size": mib * MIB})
            ticket.raise_for_status()
            plan = ticket.json()
            etags = []
            for n, url in enumerate(plan["part_urls"]):
                size = min(plan["part_size"], mib * MIB - n * plan["part_size"])
                put = client.put(url, content=_zeros(size))
                put.raise_for_status()
                etags.append(put.headers["etag"])
            parts = [{"number": i + 1, "etag": e} for i, e in enumerate(etags)]
            done = client.post(
                f"/api/uploads/{plan['upload_id']}/complete",
                json={"key": plan["key"], "parts": parts},
            )
            whole = _peak_rss_mib(server.pid)
            small = client.post("/api/uploads", json={"name": "small.mov", "size": 1}).json()
            status: int | str
            try:
                status = client.put(small["part_urls"][0], content=_zeros(mib * MIB)).status_code
            except httpx.TransportError as exc:  # the server may hang up mid-body
                status = type(exc).__name__
            over = _peak_rss_mib(server.pid)
        stored = (folder / "bucket" / plan["key"]).stat().st_size
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {
        "upload_mib": mib,
        "part_mib": plan["part_size"] / MIB,
        "completed": done.status_code,
        "stored_mib": stored / MIB,
        "peak_rss_growth_whole_mib": round(whole - start, 1),
        "oversized_part_status": status,
        "peak_rss_growth_oversized_mib": round(over - whole, 1),
    }


def _zeros(size: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """A streamed body, never held whole by the client either."""
    block = bytes(chunk)
    for start in range(0, size, chunk):
        yield block[: min(chunk, size - start)]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM (not Linux?)")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _no_backoff() -> None:
    """Retries are what is measured, not botocore's waits between them (as in the tests)."""
    ExponentialBackoff.delay_amount = lambda self, context: 0


def _wait(done: Callable[[], bool], bound_s: float) -> None:
    """Until `done`; the bound is for a hang, not a timing."""
    deadline = time.monotonic() + bound_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not settled in {bound_s:.0f} s")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="crash,faults,races,lost,memory,hostile")
    parser.add_argument("--crash-plates", type=int, default=2)
    parser.add_argument("--fault-plates", type=int, default=20)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--race-plates", type=int, default=24)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--upload-mib", type=int, default=256)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reliability.json")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        folder = Path(tmp)
        scenarios: dict[str, Callable[[], dict[str, Any]]] = {
            "crash": lambda: bench_crash(args.crash_plates, folder / "crash"),
            "faults": lambda: bench_faults(args.fault_plates, args.fault_rate, folder / "faults"),
            "races": lambda: bench_races(args.race_plates, folder / "races"),
            "lost": lambda: bench_lost(args.writes),
            "memory": lambda: bench_memory(args.upload_mib, folder / "memory"),
            "hostile": bench_hostile,
        }
        for name, scenario in scenarios.items():
            if name in only:
                (folder / name).mkdir()
                started = time.perf_counter()
                results[name] = scenario()
                results[name]["wall_s"] = round(time.perf_counter() - started, 1)
                print(f"{name}: done in {results[name]['wall_s']} s", flush=True)
    _print_table(results)
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "arguments": vars(args) | {"out": str(args.out)},
        **results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"figures in {args.out}")


def _print_table(results: dict[str, Any]) -> None:
    rows: list[tuple[str, str]] = []
    if "crash" in results:
        c = results["crash"]
        rows.append(
            (
                "kill -9, then resume",
                f"{c['resumed_identical']} of {c['cases']} kills resumed to byte-identical "
                f"outputs; {c['duplicate_notifications']} repeated job.published",
            )
        )
    if "faults" in results:
        f = results["faults"]
        rows.append(
            (
                f"S3 faults at {f['rate']:.0%}",
                f"{f['faults']} faults in {f['requests']} requests; {f['published']} of "
                f"{f['plates']} published ({f['re_runs']} re-runs); incoming/ "
                f"{'unchanged' if f['incoming_unchanged'] else 'CHANGED'}; job.published "
                f"per job {f['job_published_per_job']}",
            )
        )
    if "races" in results:
        r = results["races"]
        rows.append(
            (
                "races, 2 instances",
                f"{r['plates']} plates, {r['deliveries']} deliveries ({r['lost_events']} "
                f"events lost): {r['jobs']} jobs, {r['manifests']} manifests, job.published "
                f"per job {r['job_published_per_job']}",
            )
        )
    if "lost" in results:
        w = results["lost"]
        rows.append(
            (
                "lost answers",
                f"{w['writes']} updates, {w['answers_lost']} answers lost: counter "
                f"{w['counter']}, {w['reported_written']} reported written",
            )
        )
    if "hostile" in results:
        h = results["hostile"]
        rows.append(
            (
                "hostile input",
                f"{h['tests_passed']} tests passed, {h['tests_failed']} failed; "
                f"{h['properties']} properties: {h['examples_passed']} examples passed, "
                f"{h['examples_failed']} failed",
            )
        )
    if "memory" in results:
        m = results["memory"]
        rows.append(
            (
                "upload memory",
                f"{m['upload_mib']} MiB in {m['part_mib']:.0f} MiB parts: peak RSS "
                f"+{m['peak_rss_growth_whole_mib']} MiB; {m['upload_mib']} MiB to a 1-byte "
                f"upload: {m['oversized_part_status']}, peak RSS "
                f"+{m['peak_rss_growth_oversized_mib']} MiB",
            )
        )
    width = max(len(name) for name, _ in rows)
    for name, figure in rows:
        print(f"{name:<{width}}  {figure}")


if __name__ == "__main__":
    main()
