from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.logs import configure_logging, log_context
from ingest_service.run import pipeline
from ingest_service.services import Services
from tests.plates import Plates


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_job_and_stage(
    services: Services, plates: Plates, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(logging.INFO, "json")
    ref = ref_for_local_file(services.store, plates.h264, key="incoming/sh.mov")
    job_id = services.ledger.claim(ref, services.job_options(), max_attempts=3).record.job_id
    pipeline.run(job_id, services)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    ours = [line for line in lines if line["logger"].startswith("ingest_service")]
    assert ours, "the pipeline logged nothing at INFO"
    assert all(line["job_id"] == job_id for line in ours)
    assert {line.get("stage") for line in ours} >= {"probe", "frames"}


def test_text_format_and_redaction(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(logging.INFO, "text")
    with log_context(job_id="job-1", stage="frames"):
        logging.getLogger("x").warning("fetch https://user:hunter2@minio.local/b failed")
    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert err.rstrip().endswith("[job_id=job-1 stage=frames]")
