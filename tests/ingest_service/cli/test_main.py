"""The command-line contract scripts depend on: arguments, output, exit status."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_process_publishes_into_the_default_folder_bucket(
    workdir: Path, plates: Plates, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["process", str(plates.h264)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "state    published" in out
    manifest = workdir / "bucket" / "published" / "h264" / "v001" / "manifest.json"
    assert f"manifest {manifest}" in out
    assert json.loads(manifest.read_text())["shot"]["frame_count"] == 48
    assert "frames: done in" in err  # plain lines when stderr is not a terminal
    assert (workdir / "bucket" / ".ingest" / "notifications.jsonl").exists()
    assert (workdir / "bucket" / "incoming" / "h264.mov").read_bytes() == plates.h264.read_bytes()

    assert main(["process", str(plates.h264)]) == EXIT_OK  # same upload: nothing redone
    assert "already published" in capsys.readouterr().err


def test_process_options_and_json_output(
    workdir: Path, plates: Plates, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "process",
            str(plates.ntsc),
            "--format",
            "jpeg",
            "--first-frame",
            "1001",
            "--key",
            "incoming/sq010/sh0100.mov",
            "--json",
        ]
    )
    assert code == EXIT_OK
    record = json.loads(capsys.readouterr().out)
    assert record["state"] == "published"
    assert record["output_prefix"] == "published/sq010/sh0100/v001/"
    first = record["stages"]["frames"]["result"]["files"][0]["key"]
    assert first.endswith("frames/frame.1001.jpg")


def test_failed_job_exits_non_zero_with_the_reason(
    workdir: Path, plates: Plates, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["process", str(plates.text_as_mov)]) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert "state    failed" in out
    assert "not a readable video file" in out
    assert "not retried" in out


def test_status_and_jobs(workdir: Path, plates: Plates, capsys: pytest.CaptureFixture[str]) -> None:
    main(["process", str(plates.h264), "--json"])
    job_id = json.loads(capsys.readouterr().out)["job_id"]
    main(["process", str(plates.empty)])
    capsys.readouterr()

    assert main(["status", job_id]) == EXIT_OK
    assert f"job      {job_id}" in capsys.readouterr().out
    assert main(["status", job_id, "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["state"] == "published"

    assert main(["jobs"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("UPDATED") and len(lines) == 3
    assert main(["jobs", "--state", "failed"]) == EXIT_OK
    [_, failed] = capsys.readouterr().out.splitlines()
    assert "empty/v001" in failed

    assert main(["status", "no-such-job"]) == EXIT_USAGE
    assert "no job no-such-job" in capsys.readouterr().err


def test_a_different_file_never_overwrites_an_incoming_plate(
    workdir: Path, plates: Plates, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["process", str(plates.h264), "--key", "incoming/sh0010.mov"]) == EXIT_OK
    assert main(["process", str(plates.ntsc), "--key", "incoming/sh0010.mov"]) == EXIT_USAGE
    assert "already holds a different file" in capsys.readouterr().err
    assert (workdir / "bucket" / "incoming" / "sh0010.mov").read_bytes() == plates.h264.read_bytes()


def test_missing_path_is_a_usage_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["process", "nowhere/plate.mov"]) == EXIT_USAGE
    assert "neither a local file nor an object" in capsys.readouterr().err


def test_process_against_s3_over_http(
    workdir: Path,
    plates: Plates,
    moto_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    make_client(endpoint_url=moto_server).create_bucket(Bucket="cli-plates")
    assert main(["process", str(plates.h264), "--store", "s3://cli-plates"]) == EXIT_OK
    assert "manifest s3://cli-plates/published/h264/v001/manifest.json" in capsys.readouterr().out
    client = make_client(endpoint_url=moto_server)
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="cli-plates")["Contents"]}
    assert "published/h264/v001/frames/frame.0048.png" in keys
    # A key already in the bucket can be processed by name too.
    assert main(["process", "s3://cli-plates/incoming/h264.mov", "--store", "s3://cli-plates"]) == 0


def test_sample_plate_and_schema(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample-plate", "p.mov", "--seconds", "0.5", "--size", "64x48"]) == EXIT_OK
    assert (workdir / "p.mov").stat().st_size > 0
    assert main(["sample-plate", "p.mov", "--size", "big"]) == EXIT_USAGE
    assert (
        main(
            [
                "sample-plate",
                "room.mp4",
                "--motion",
                "dolly",
                "--seconds",
                "0.25",
                "--size",
                "96x54",
            ]
        )
        == EXIT_OK
    )
    assert (workdir / "room.mp4").stat().st_size > 0
    capsys.readouterr()
    assert main(["schema"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["title"] == "ingest-service manifest"


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


def test_file_uri_store(workdir: Path, plates: Plates, capsys: pytest.CaptureFixture[str]) -> None:
    bucket = workdir / "studio bucket"
    assert main(["process", str(plates.h264), "--store", bucket.as_uri()]) == EXIT_OK
    assert (bucket / "published" / "h264" / "v001" / "manifest.json").exists()
    assert not (workdir / "bucket").exists()


def test_retry_after_fixing_a_bad_sidecar(
    workdir: Path, plates: Plates, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = workdir / "bucket" / "incoming"
    bucket.mkdir(parents=True)
    (bucket / "sh0010.mov.json").write_text('{"shots": "typo"}')
    assert (
        main(["process", str(plates.h264), "--key", "incoming/sh0010.mov", "--json"]) == EXIT_FAILED
    )
    failed = json.loads(capsys.readouterr().out)
    assert "Extra inputs are not permitted" in failed["error"]["message"]
    assert main(["retry", failed["job_id"]]) == EXIT_FAILED  # still the same bad sidecar
    capsys.readouterr()
    (bucket / "sh0010.mov.json").write_text('{"shot": "sq010/sh0010"}')
    assert main(["retry", failed["job_id"], "--json"]) == EXIT_OK
    record = json.loads(capsys.readouterr().out)
    assert record["state"] == "published"
    assert record["output_prefix"] == "published/sq010/sh0010/v001/"
    assert main(["retry", failed["job_id"]]) == EXIT_USAGE  # published jobs are not retried
    assert "not failed" in capsys.readouterr().err
