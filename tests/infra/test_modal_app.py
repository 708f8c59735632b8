"""The Modal app, offline: what it defines, and a whole job through its functions' code."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ingest_service.intake import claim_plate
from ingest_service.plates import ref_for_local_file
from ingest_service.services import Services
from ingest_service.settings import load_settings
from storage import S3Store
from tests.plates import Plates


@pytest.fixture(scope="module")
def modal_app():  # type: ignore[no-untyped-def]
    import infra.modal_app as module

    return module


def _functions(module) -> dict:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # registered_functions is deprecated in modal 1.6
        return dict(module.app.registered_functions)


def test_app_defines_the_functions_with_their_resources(modal_app) -> None:  # type: ignore[no-untyped-def]
    functions = _functions(modal_app)
    assert set(functions) == {"web", "poll", "run_job", "media_stage", "camera_stage"}
    camera = functions["camera_stage"]._spec_
    assert (camera.cpu, camera.memory) == (8.0, 32768)
    media = functions["media_stage"]._spec_
    assert (media.cpu, media.memory) == (4.0, 8192)
    for name, function in functions.items():
        secrets = {repr(s) for s in function._spec_.secrets}
        assert secrets == {"modal.Secret.from_name('ingest-s3')",
                           "modal.Secret.from_name('ingest-webhook')"}, name  # fmt: skip


def test_web_and_poller_wiring(modal_app) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        web_endpoints = modal_app.app.registered_web_endpoints
    assert list(web_endpoints) == ["web"]
    assert modal_app.POLL_SCHEDULE == "*/5 * * * *"


@pytest.fixture
def s3_env(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Store:
    monkeypatch.setenv("INGEST_STORE", f"s3://{s3_store.bucket}")
    monkeypatch.setenv("INGEST_STAGES", "probe,frames")
    monkeypatch.setenv("INGEST_NOTIFY_LOG", str(tmp_path / "notifications.jsonl"))
    monkeypatch.setenv("INGEST_WORKERS", "2")
    return s3_store


def test_a_whole_job_runs_through_the_orchestrator_and_stage_functions(
    modal_app,
    s3_env: S3Store,
    plates: Plates,  # type: ignore[no-untyped-def]
) -> None:
    services = Services.build(load_settings(), store=s3_env)
    ref = ref_for_local_file(s3_env, plates.h264, key="incoming/sh0040.mov")
    job_id = claim_plate(services, ref).record.job_id
    # .local(): the function bodies run here, against moto, with no Modal account.
    assert modal_app.run_job.local(job_id, "local") == "published"
    record = services.ledger.get(job_id)
    assert record.manifest_key == "published/sh0040/v001/manifest.json"
    assert s3_env.head("published/sh0040/v001/frames/frame.0048.png").size > 0
