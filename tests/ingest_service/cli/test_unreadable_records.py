"""`ingest-service jobs` lists the jobs it can read, whatever else is in the jobs folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest_service.cli.main import EXIT_OK, main
from storage import LocalStore
from tests.plates import Plates


def test_jobs_skips_a_record_that_is_not_a_job(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    plates: Plates,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INGEST_STAGES", "probe")
    assert main(["process", str(plates.h264), "--json"]) == EXIT_OK
    job_id = json.loads(capsys.readouterr().out)["job_id"]
    store = LocalStore(tmp_path / "bucket")
    store.put(".ingest/jobs/zz-forged.json", b'{"shot": "x"}')
    store.put(".ingest/jobs/zz-broken.json", b"{not json")

    assert main(["jobs"]) == EXIT_OK
    out, err = capsys.readouterr()
    [_, row] = out.splitlines()
    assert row.endswith(job_id)
    assert "zz-forged cannot be read" in err and "zz-broken cannot be read" in err
