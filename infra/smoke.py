"""`ingest-service modal smoke`: deploy to a Modal environment, ingest generated plates end
to end, check their manifests, report timings and costs, then stop the app.

Modal is reached through `ModalOps` (deploy, the web URL, submit, stop), so that the same
run can be checked offline against a stand-in for those four calls.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from infra.deployment import app_name
from ingest_service.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Command, services_for
from ingest_service.jobs.record import JobRecord
from ingest_service.jobs.states import JobState
from ingest_service.publish.manifest import Manifest
from ingest_service.samples.plate import make_plate
from ingest_service.services import Services
from storage import ObjectNotFoundError

APP_FILE = Path(__file__).with_name("modal_app.py")
SMOKE_HELP = "deploy to an environment, ingest generated plates, report, stop the app"
# Which function ran each stage: its first run after a deploy pays the cold start.
FUNCTION_OF_STAGE = {
    "probe": "media_stage",
    "frames": "media_stage",
    "camera": "camera_stage",
    "depth": "camera_stage",
    "masks": "camera_stage",
}


class ModalOps(Protocol):
    def deploy(self) -> None: ...

    def web_url(self) -> str: ...

    def submit(self, uri: str) -> JobRecord: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ModalCli:
    """The real calls: the `modal` command for deploy and stop, the SDK for the rest."""

    environment: str
    app: str = field(default_factory=app_name)

    def deploy(self) -> None:
        self._modal("deploy", "--env", self.environment, "--name", self.app, str(APP_FILE))

    def web_url(self) -> str:
        import modal

        web = modal.Function.from_name(self.app, "web", environment_name=self.environment)
        url = web.get_web_url()
        if not url:
            raise RuntimeError(f"{self.app} has no web endpoint in {self.environment}")
        return url

    def submit(self, uri: str) -> JobRecord:
        from infra.submit import submit_to_modal

        return submit_to_modal(uri, app=self.app, environment=self.environment)

    def stop(self) -> None:
        self._modal("app", "stop", "--env", self.environment, self.app)

    @staticmethod
    def _modal(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "modal", *args], check=True)


@dataclass
class SmokeRun:
    """One plate's job, as the bucket tells it."""

    job_id: str
    state: str
    dispatch_s: float | None = None  # claim to its first stage: run_job's start
    stage_s: dict[str, float] = field(default_factory=dict)
    cost_usd: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == JobState.PUBLISHED and not self.problems


@dataclass
class SmokeReport:
    environment: str
    web_first_byte_s: list[float]  # the first request meets a cold container
    runs: list[SmokeRun]

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(run.ok for run in self.runs)

    def cold_start_s(self) -> dict[str, float]:
        """Per function: its first call after the deploy, less the median of later ones."""
        if len(self.runs) < 2 or len(self.web_first_byte_s) < 2:
            return {}
        first, later = self.runs[0], self.runs[1:]
        cold = {"web": self.web_first_byte_s[0] - statistics.median(self.web_first_byte_s[1:])}
        if first.dispatch_s is not None:
            warm = [r.dispatch_s for r in later if r.dispatch_s is not None]
            cold["run_job"] = first.dispatch_s - statistics.median(warm) if warm else 0.0
        for stage, function in FUNCTION_OF_STAGE.items():
            warm = [r.stage_s[stage] for r in later if stage in r.stage_s]
            if function not in cold and stage in first.stage_s and warm:
                cold[function] = first.stage_s[stage] - statistics.median(warm)
        return cold

    def lines(self) -> list[str]:
        out = [f"environment {self.environment}: {'ok' if self.ok else 'FAILED'}"]
        firsts = ", ".join(f"{s:.3f}" for s in self.web_first_byte_s)
        out.append(f"web /health time to first byte, s: {firsts}")
        for function, seconds in self.cold_start_s().items():
            out.append(f"cold start {function}: {seconds:.1f} s")
        for run in self.runs:
            stages = " ".join(
                f"{n}={s:.1f}s/${run.cost_usd.get(n, 0):.4f}" for n, s in run.stage_s.items()
            )
            out.append(f"{run.job_id} {run.state} {stages} {'; '.join(run.problems)}".rstrip())
        return out


def first_byte_s(url: str, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds from sending a GET to the first byte of its answer."""
    start = clock()
    with httpx.stream("GET", url, timeout=300.0, follow_redirects=True) as response:
        next(response.iter_raw(1), b"")
        return clock() - start


def check_published(services: Services, record: JobRecord) -> SmokeRun:
    """What a downstream tool would trust: a manifest whose every file is there, whole."""
    run = SmokeRun(record.job_id, record.state.value)
    first = min((s.started_at for s in record.stages.values()), default=None)
    run.dispatch_s = (first - record.created_at).total_seconds() if first else None
    run.stage_s = {name: s.duration_s for name, s in record.stages.items()}
    if record.state is not JobState.PUBLISHED or not record.manifest_key:
        run.problems.append(record.error.message if record.error else "not published")
        return run
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)
    run.cost_usd = dict(manifest.cost.by_stage)
    for output in manifest.files:
        try:
            size = services.store.head(output.key).size
        except ObjectNotFoundError:
            size = None
        if size != output.size:
            run.problems.append(f"{output.key}: {size} bytes, manifest says {output.size}")
    return run


@dataclass
class Smoke:
    """One smoke run: its Modal calls, the bucket, and how it waits."""

    ops: ModalOps
    services: Services  # the deployment's bucket, read and written with this machine's keys
    environment: str
    # Plates are ingested one after another: the first meets cold containers.
    plates: int = 5
    plate_seconds: float = 2.0
    timeout_s: float = 1800.0  # per plate
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def run(self) -> SmokeReport:
        self.ops.deploy()
        try:
            health = self.ops.web_url().rstrip("/") + "/health"
            report = SmokeReport(self.environment, [first_byte_s(health)], [])
            for key in self._put_plates():
                record = self.ops.submit(f"s3://{self.services.store.bucket}/{key}")
                report.runs.append(check_published(self.services, self._wait(record.job_id)))
                report.web_first_byte_s.append(first_byte_s(health))
            return report
        finally:
            self.ops.stop()

    def _put_plates(self) -> list[str]:
        """Generated plates under the drop zone, one key per run (each a new job)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        incoming = self.services.settings.layout.incoming
        keys = [f"{incoming}smoke/{stamp}-{i}.mov" for i in range(self.plates)]
        with tempfile.TemporaryDirectory(prefix="ingest-smoke-") as scratch:
            plate = make_plate(Path(scratch) / "plate.mov", seconds=self.plate_seconds)
            for key in keys:
                self.services.store.put(key, plate.read_bytes(), content_type="video/quicktime")
        return keys

    def _wait(self, job_id: str) -> JobRecord:
        deadline = self.clock() + self.timeout_s
        while True:
            record = self.services.ledger.get(job_id)
            if record.state in (JobState.PUBLISHED, JobState.FAILED) or self.clock() > deadline:
                return record
            self.sleep(5.0)


def add_modal(commands: Any, common: argparse.ArgumentParser) -> dict[str, Command]:
    modal = commands.add_parser("modal", help="the app on Modal: an end-to-end smoke test")
    actions = modal.add_subparsers(dest="modal_command", required=True, metavar="ACTION")
    smoke = actions.add_parser("smoke", parents=[common], help=SMOKE_HELP, description=__doc__)
    smoke.add_argument("--env", dest="environment", required=True, help="Modal environment")
    smoke.add_argument("--app", default=app_name(), help="the Modal app's name")
    smoke.add_argument("--plates", type=int, default=5, help="plates to ingest, one by one")
    smoke.add_argument("--timeout", type=float, default=1800.0, help="seconds per plate")
    return {"modal": cmd_modal}


def cmd_modal(args: argparse.Namespace) -> int:
    services = services_for(args)
    if not services.settings.store.startswith("s3://"):
        print("error: name the deployment's bucket: --store s3://<bucket>", file=sys.stderr)
        return EXIT_USAGE
    ops = ModalCli(args.environment, args.app)
    smoke = Smoke(ops, services, args.environment, plates=args.plates, timeout_s=args.timeout)
    report = smoke.run()
    print("\n".join(report.lines()))
    return EXIT_OK if report.ok else EXIT_FAILED
