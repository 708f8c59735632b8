"""The smoke test a user with a Modal account runs, run here against a stand-in for its
four Modal calls: submit runs the deployed functions' bodies (.local) against moto."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra import modal_app
from infra.smoke import Smoke
from infra.submit import split_s3_uri
from ingest_service.jobs.record import JobRecord
from ingest_service.services import Services
from ingest_service.settings import load_settings
from storage import S3Store


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class FakeModal:
    """Deploy and stop are noted; submit claims and runs the job through the app's code."""

    url: str
    calls: list[str] = field(default_factory=list)

    def deploy(self) -> None:
        self.calls.append("deploy")

    def web_url(self) -> str:
        return self.url

    def submit(self, uri: str) -> JobRecord:
        self.calls.append("submit")
        bucket, key = split_s3_uri(uri)
        return JobRecord.model_validate_json(modal_app.submit.local(key, bucket))

    def stop(self) -> None:
        self.calls.append("stop")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, s3_env: S3Store, web: str) -> FakeModal:
    # The job runs as soon as it is spawned, here, through the orchestrator's body.
    monkeypatch.setattr(modal_app.run_job, "spawn", lambda job_id: run_now(job_id))
    return FakeModal(web)


def run_now(job_id: str) -> None:
    modal_app.run_job.local(job_id, "local")


def smoke(fake: FakeModal, s3_env: S3Store, plates: int) -> Smoke:
    def never_waits(seconds: float) -> None:
        raise AssertionError("the jobs ran at submit; nothing to wait for")

    services = Services.build(load_settings(), store=s3_env)
    return Smoke(fake, services, "smoke", plates=plates, plate_seconds=0.5, sleep=never_waits)


@pytest.mark.slow
def test_smoke_deploys_ingests_checks_reports_and_stops(fake: FakeModal, s3_env: S3Store) -> None:
    report = smoke(fake, s3_env, plates=2).run()

    assert fake.calls == ["deploy", "submit", "submit", "stop"]
    assert report.ok, report.lines()
    assert len({run.job_id for run in report.runs}) == 2
    for run in report.runs:
        assert set(run.stage_s) == {"probe", "frames"}
        assert run.cost_usd["frames"] > 0 and run.dispatch_s is not None
    assert len(report.web_first_byte_s) == 3  # before the first plate, then after each
    assert set(report.cold_start_s()) == {"web", "run_job", "media_stage"}
    assert report.lines()[0] == "environment smoke: ok"


@pytest.mark.slow
def test_a_published_file_gone_missing_fails_the_smoke(
    fake: FakeModal, s3_env: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def publish_then_lose_a_frame(job_id: str) -> None:
        run_now(job_id)
        record = Services.build(load_settings(), store=s3_env).ledger.get(job_id)
        s3_env.delete(f"{record.output_prefix}frames/frame.0003.png")

    monkeypatch.setattr(modal_app.run_job, "spawn", publish_then_lose_a_frame)
    report = smoke(fake, s3_env, plates=1).run()
    assert not report.ok
    assert any("frame.0003.png: None bytes" in p for p in report.runs[0].problems)
    assert fake.calls[-1] == "stop"


def test_the_app_is_stopped_even_when_a_submit_fails(fake: FakeModal, s3_env: S3Store) -> None:
    def refused(uri: str) -> JobRecord:
        raise RuntimeError("deployment unreachable")

    fake.submit = refused  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="unreachable"):
        smoke(fake, s3_env, plates=1).run()
    assert fake.calls == ["deploy", "stop"]


def test_the_smoke_command_needs_the_deployments_bucket(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from infra.cli import main

    assert main(["modal", "smoke", "--env", "smoke", "--store", "./bucket"]) == 2
    assert "--store s3://" in capsys.readouterr().err
