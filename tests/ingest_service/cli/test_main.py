"""The command-line contract scripts depend on: arguments, output, exit status."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest_service.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from ingest_service.cli.progress import LineProgress, TerminalProgress
from storage import make_client
from tests.plates import Plates


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INGEST_STAGES", "probe,frames")  # the camera stage has its own tests
    return tmp_path


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Ran]


@pytest.fixture
def cli(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs the command in the work folder; each run's output is its own."""

    def run(*argv: str | Path) -> Ran:
        code = main([str(arg) for arg in argv])
        return Ran(code, *capsys.readouterr())

    return run


def test_process_publishes_into_the_default_folder_bucket(
    cli: Cli, workdir: Path, plates: Plates
) -> None:
    ran = cli("process", plates.h264)
    assert ran.code == EXIT_OK
    assert "state    published" in ran.out
    manifest = workdir / "bucket" / "published" / "h264" / "v001" / "manifest.json"
    assert f"manifest {manifest}" in ran.out
    assert json.loads(manifest.read_text())["shot"]["frame_count"] == 48
    assert "frames: done in" in ran.err  # plain lines when stderr is not a terminal
    assert (workdir / "bucket" / ".ingest" / "notifications.jsonl").exists()
    assert (workdir / "bucket" / "incoming" / "h264.mov").read_bytes() == plates.h264.read_bytes()

    again = cli("process", plates.h264)  # same upload: nothing redone
    assert again.code == EXIT_OK
    assert "already published" in again.err


def test_process_options_and_json_output(cli: Cli, plates: Plates) -> None:
    ran = cli(
        "process",
        plates.ntsc,
        "--format",
        "jpeg",
        "--first-frame",
        "1001",
        "--key",
        "incoming/sq010/sh0100.mov",
        "--json",
    )
    assert ran.code == EXIT_OK
    record = ran.json()
    assert record["state"] == "published"
    assert record["output_prefix"] == "published/sq010/sh0100/v001/"
    first = record["stages"]["frames"]["result"]["files"][0]["key"]
    assert first.endswith("frames/frame.1001.jpg")


def test_failed_job_exits_non_zero_with_the_reason(cli: Cli, plates: Plates) -> None:
    ran = cli("process", plates.text_as_mov)
    assert ran.code == EXIT_FAILED
    assert "state    failed" in ran.out
    assert "not a readable video file" in ran.out
    assert "not retried" in ran.out


def test_status_and_jobs(cli: Cli, plates: Plates) -> None:
    job_id = cli("process", plates.h264, "--json").json()["job_id"]
    cli("process", plates.empty)

    status = cli("status", job_id)
    assert status.code == EXIT_OK
    assert f"job      {job_id}" in status.out
    status = cli("status", job_id, "--json")
    assert status.code == EXIT_OK
    assert status.json()["state"] == "published"

    jobs = cli("jobs")
    assert jobs.code == EXIT_OK
    lines = jobs.out.splitlines()
    assert lines[0].startswith("UPDATED") and len(lines) == 3
    jobs = cli("jobs", "--state", "failed")
    assert jobs.code == EXIT_OK
    [_, failed] = jobs.out.splitlines()
    assert "empty/v001" in failed

    missing = cli("status", "no-such-job")
    assert missing.code == EXIT_USAGE
    assert "no job no-such-job" in missing.err


def test_a_different_file_never_overwrites_an_incoming_plate(
    cli: Cli, workdir: Path, plates: Plates
) -> None:
    assert cli("process", plates.h264, "--key", "incoming/sh0010.mov").code == EXIT_OK
    other = cli("process", plates.ntsc, "--key", "incoming/sh0010.mov")
    assert other.code == EXIT_USAGE
    assert "already holds a different file" in other.err
    assert (workdir / "bucket" / "incoming" / "sh0010.mov").read_bytes() == plates.h264.read_bytes()


def test_missing_path_is_a_usage_error(cli: Cli) -> None:
    ran = cli("process", "nowhere/plate.mov")
    assert ran.code == EXIT_USAGE
    assert "neither a local file nor an object" in ran.err


def test_process_against_s3_over_http(
    cli: Cli, plates: Plates, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    make_client(endpoint_url=moto_server).create_bucket(Bucket="cli-plates")
    ran = cli("process", plates.h264, "--store", "s3://cli-plates")
    assert ran.code == EXIT_OK
    assert "manifest s3://cli-plates/published/h264/v001/manifest.json" in ran.out
    client = make_client(endpoint_url=moto_server)
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="cli-plates")["Contents"]}
    assert "published/h264/v001/frames/frame.0048.png" in keys
    # A key already in the bucket can be processed by name too.
    by_key = cli("process", "s3://cli-plates/incoming/h264.mov", "--store", "s3://cli-plates")
    assert by_key.code == EXIT_OK


def test_sample_plate_and_schema(cli: Cli, workdir: Path) -> None:
    assert cli("sample-plate", "p.mov", "--seconds", "0.5", "--size", "64x48").code == EXIT_OK
    assert (workdir / "p.mov").stat().st_size > 0
    assert cli("sample-plate", "p.mov", "--size", "big").code == EXIT_USAGE
    room = cli(
        "sample-plate", "room.mp4", "--motion", "dolly", "--seconds", "0.25", "--size", "96x54"
    )
    assert room.code == EXIT_OK
    assert (workdir / "room.mp4").stat().st_size > 0
    schema = cli("schema")
    assert schema.code == EXIT_OK
    assert schema.json()["title"] == "ingest-service manifest"


def test_terminal_progress_draws_a_bar_and_a_summary() -> None:
    stream = io.StringIO()
    bar = TerminalProgress(stream)
    bar.started("frames", 10, "frames")
    bar._drawn = 0  # force a redraw
    bar.advanced(5)
    bar.finished("frames", "done", 1.25)
    text = stream.getvalue()
    assert "[" in text and "5/10 frames" in text
    assert text.endswith("frames   done in 1.2s\n")


def test_line_progress_is_plain() -> None:
    stream = io.StringIO()
    lines = LineProgress(stream)
    lines.started("probe", 3 * 1024 * 1024, "B")
    lines.finished("probe", "failed", 0.5, "not a video")
    assert stream.getvalue() == "probe: started (3 MiB)\nprobe: failed in 0.5s: not a video\n"


@pytest.mark.slow
def test_installed_console_script_runs_end_to_end(tmp_path: Path, plates: Plates) -> None:
    script = Path(sys.executable).with_name("ingest-service")
    env = {**os.environ, "INGEST_STORE": str(tmp_path / "b"), "INGEST_STAGES": "probe,frames"}
    help_text = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert "process" in help_text.stdout and "sample-plate" in help_text.stdout
    done = subprocess.run(
        [script, "process", str(plates.h264)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "b" / "published" / "h264" / "v001" / "manifest.json").exists()


def test_file_uri_store(cli: Cli, workdir: Path, plates: Plates) -> None:
    bucket = workdir / "studio bucket"
    assert cli("process", plates.h264, "--store", bucket.as_uri()).code == EXIT_OK
    assert (bucket / "published" / "h264" / "v001" / "manifest.json").exists()
    assert not (workdir / "bucket").exists()


def test_retry_after_fixing_a_bad_sidecar(cli: Cli, workdir: Path, plates: Plates) -> None:
    bucket = workdir / "bucket" / "incoming"
    bucket.mkdir(parents=True)
    (bucket / "sh0010.mov.json").write_text('{"shots": "typo"}')
    ran = cli("process", plates.h264, "--key", "incoming/sh0010.mov", "--json")
    assert ran.code == EXIT_FAILED
    failed = ran.json()
    assert "Extra inputs are not permitted" in failed["error"]["message"]
    job_id = failed["job_id"]
    assert cli("retry", job_id).code == EXIT_FAILED  # still the same bad sidecar
    (bucket / "sh0010.mov.json").write_text('{"shot": "sq010/sh0010"}')
    ran = cli("retry", job_id, "--json")
    assert ran.code == EXIT_OK
    record = ran.json()
    assert record["state"] == "published"
    assert record["output_prefix"] == "published/sq010/sh0010/v001/"
    again = cli("retry", job_id)  # published jobs are not retried
    assert again.code == EXIT_USAGE
    assert "not failed" in again.err
