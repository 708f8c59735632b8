"""A worker killed with SIGKILL at any point of a job: the job resumes on another worker
from its last recorded stage, and what it publishes is what an uninterrupted run publishes.

Each case kills a real worker process (`process`) at one point: between stages, inside
one, after the manifest, after the job is published but before its notification is
recorded. See tests/reliability/crash.py for how a point is reached without a test hook.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.record import JobRecord, utcnow
from ingest_service.jobs.states import JobState
from ingest_service.publish.manifest import Manifest
from ingest_service.run import pipeline
from ingest_service.run.intake import claim_plate
from ingest_service.samples.scene import render_plate
from ingest_service.services import Services
from storage import LocalStore
from tests.reliability.crash import (
    FOLDER,
    KILL_POINTS,
    MANIFEST,
    KillPoint,
    crash_settings,
    kill_at,
    published_notes,
    resume,
    start_worker,
    version_folder,
)

pytestmark = pytest.mark.slow

KEY = "incoming/sq010/sh010.mov"
THUMBNAIL = "thumbnail.jpg"


@dataclass(frozen=True)
class Uninterrupted:
    files: dict[str, bytes]
    manifest: Manifest


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight 96x54 frames of a dolly through a textured room: enough for a camera solve
    and stereo depth, a second or two for all four stages."""
    path = tmp_path_factory.mktemp("crash-plate") / "sh010.mov"
    render_plate(path, "dolly", frames=8, width=96, height=54, f=75.0)
    return path


@pytest.fixture(scope="module")
def uninterrupted(plate: Path, tmp_path_factory: pytest.TempPathFactory) -> Uninterrupted:
    settings = crash_settings(tmp_path_factory.mktemp("uninterrupted"))
    store = LocalStore(settings.store)
    services = Services.build(settings, store=store)
    ref = ref_for_local_file(store, plate, key=KEY)
    record = pipeline.run(claim_plate(services, ref).record.job_id, services)
    assert record.state is JobState.PUBLISHED, record.error
    return Uninterrupted(version_folder(store, record), _manifest(store, record))


def _manifest(store: LocalStore, record: JobRecord) -> Manifest:
    assert record.manifest_key is not None
    return Manifest.model_validate_json(store.get(record.manifest_key).data)


def _paths(manifest: Manifest) -> dict[str, str]:
    """Each listed file's role, by its path in the version folder."""
    return {f.key[len(manifest.prefix) :]: f.role for f in manifest.files}


def _frames(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if k.startswith(FOLDER["frames"]) or k == THUMBNAIL}


@pytest.mark.parametrize("point", KILL_POINTS, ids=[p.name for p in KILL_POINTS])
def test_a_job_killed_mid_run_resumes_and_publishes_what_an_uninterrupted_run_does(
    point: KillPoint, plate: Path, uninterrupted: Uninterrupted, tmp_path: Path
) -> None:
    settings = crash_settings(tmp_path)
    store = LocalStore(settings.store)
    services = Services.build(settings, store=store)
    job_id = job_id_for(ref_for_local_file(store, plate, key=KEY))

    log = tmp_path / "worker.log"
    worker = start_worker(settings, KEY, log)
    left = kill_at(worker, services, job_id, point, log=log)
    killed_at = utcnow()
    assert worker.returncode == -9
    assert left.record is not None
    sent_before = published_notes(settings, job_id)  # the worker's own, if it got that far

    resumed = resume(settings, job_id)
    final = resumed.record

    assert final.state is JobState.PUBLISHED, final.error
    if left.state is JobState.PUBLISHED:
        # Nothing to run again: the poller notifies in the dead worker's place.
        assert resumed.report.notified == [job_id]
        assert final.attempt == left.record.attempt
    else:
        assert resumed.report.redispatched == [job_id]
        assert final.attempt == left.record.attempt + 1
    # Resumed from the last recorded stage: those are kept as they were, the rest ran anew.
    kept = {name: final.stages[name] for name in left.record.stages}
    assert kept == left.record.stages
    rerun = [n for n in final.stages if n not in left.record.stages]
    assert all(final.stages[n].started_at >= killed_at for n in rerun)
    assert final.output_prefix == left.record.output_prefix or left.record.output_prefix is None

    # The same file list and the same frames, byte for byte; every file as the manifest
    # lists it, and nothing else: nothing the killed worker left half-done. (Camera and
    # depth are computed anew when their stage is re-run; their bytes are not compared.)
    files = version_folder(store, final)
    manifest = _manifest(store, final)
    assert _paths(manifest) == _paths(uninterrupted.manifest)
    assert _frames(files) == _frames(uninterrupted.files)
    assert files.keys() == {*_paths(manifest), MANIFEST}
    listed = {f.key[len(manifest.prefix) :]: f.sha256 for f in manifest.files}
    assert listed == {k: hashlib.sha256(files[k]).hexdigest() for k in listed}
    assert [i.key for i in store.list("published/") if i.key.endswith(MANIFEST)] == [
        final.manifest_key
    ]
    # One job.published; a worker killed between sending it and recording it is the one
    # case of a second (at least once, by contract).
    assert sent_before <= (1 if left.state is JobState.PUBLISHED else 0)
    assert published_notes(settings, job_id) == sent_before + 1
    assert final.notified() and not list(services.ledger.unfinished())
