"""One crash case from start to end (a worker killed at a point, its job resumed), the
uninterrupted run it is held to, and the promises it must keep."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.ids import job_id_for
from ingest_service.jobs.record import JobRecord, utcnow
from ingest_service.jobs.states import JobState
from ingest_service.publish.manifest import Manifest
from ingest_service.run import pipeline
from ingest_service.run.intake import claim_plate
from ingest_service.services import Services
from ingest_service.settings import Settings
from storage import LocalStore
from tests.reliability.crash import (
    MANIFEST,
    KillPoint,
    Resumed,
    Seen,
    crash_settings,
    kill_at,
    resume,
    start_worker,
)


def published_notes(settings: Settings, job_id: str) -> int:
    """`job.published` notifications sent for the job, by the notification log."""
    log = settings.notify_log
    if log is None or not log.exists():
        return 0
    notes = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return sum(n["job_id"] == job_id and n["event"] == "job.published" for n in notes)


def version_folder(store: LocalStore, record: JobRecord) -> dict[str, bytes]:
    """Every file of the job's version folder, by its path in the folder."""
    prefix = record.output_prefix
    assert prefix is not None
    return {i.key[len(prefix) :]: store.get(i.key).data for i in store.list(prefix)}


def _manifest(store: LocalStore, record: JobRecord) -> Manifest:
    assert record.manifest_key is not None
    return Manifest.model_validate_json(store.get(record.manifest_key).data)


def _paths(manifest: Manifest) -> dict[str, str]:
    """Each listed file's role, by its path in the version folder."""
    return {f.key[len(manifest.prefix) :]: f.role for f in manifest.files}


def _outputs(files: dict[str, bytes]) -> dict[str, bytes]:
    """Every file but the manifest (which says when and in which attempt it was written)."""
    return {k: v for k, v in files.items() if k != MANIFEST}


@dataclass(frozen=True)
class Published:
    """A job's end: its record, its version folder's files and its manifest."""

    record: JobRecord
    files: dict[str, bytes]
    manifest: Manifest

    @classmethod
    def of(cls, store: LocalStore, record: JobRecord) -> Published:
        assert record.state is JobState.PUBLISHED, record.error
        return cls(record, version_folder(store, record), _manifest(store, record))


def uninterrupted(plate: Path, key: str, folder: Path) -> Published:
    """The plate's job run start to end in this process, as the crashed runs should end."""
    settings = crash_settings(folder)
    store = LocalStore(settings.store)
    services = Services.build(settings, store=store)
    ref = ref_for_local_file(store, plate, key=key)
    return Published.of(store, pipeline.run(claim_plate(services, ref).record.job_id, services))


@dataclass(frozen=True)
class Crash:
    """A worker killed at `point`, and its job resumed elsewhere."""

    point: str
    exit_status: int
    killed_at: datetime
    left: Seen
    sent_before: int  # job.published sent by the killed worker
    resumed: Resumed
    end: Published
    sent: int  # job.published sent in all
    unfinished: list[str]
    seconds: float


def crash(plate: Path, key: str, point: KillPoint, folder: Path) -> Crash:
    started = time.perf_counter()
    settings = crash_settings(folder)
    store = LocalStore(settings.store)
    services = Services.build(settings, store=store)
    job_id = job_id_for(ref_for_local_file(store, plate, key=key))
    log = folder / "worker.log"
    worker = start_worker(settings, key, log)
    left = kill_at(worker, services, job_id, point, log=log)
    killed_at, sent_before = utcnow(), published_notes(settings, job_id)
    resumed = resume(settings, job_id)
    return Crash(
        point=point.name,
        exit_status=worker.returncode,
        killed_at=killed_at,
        left=left,
        sent_before=sent_before,
        resumed=resumed,
        end=Published.of(store, resumed.record),
        sent=published_notes(settings, job_id),
        unfinished=list(services.ledger.unfinished()),
        seconds=time.perf_counter() - started,
    )


def verdict(crash: Crash, uninterrupted: Published) -> dict[str, bool]:
    """Each promise a crash must keep, and whether this one kept it."""
    left, final, end = crash.left.record, crash.resumed.record, crash.end
    assert left is not None
    job_id, report = final.job_id, crash.resumed.report
    was_published = left.state is JobState.PUBLISHED
    listed = {f.key[len(end.manifest.prefix) :]: f.sha256 for f in end.manifest.files}
    rerun = [n for n in final.stages if n not in left.stages]
    return {
        "killed by SIGKILL": crash.exit_status == -9,
        "published": final.state is JobState.PUBLISHED,
        # Nothing to run again after publishing: the poller notifies in the worker's place.
        "taken over by the poller": (report.notified if was_published else report.redispatched)
        == [job_id],
        "one more attempt": final.attempt == left.attempt + (0 if was_published else 1),
        "recorded stages kept": {n: final.stages[n] for n in left.stages} == left.stages,
        "the rest re-run": all(final.stages[n].started_at >= crash.killed_at for n in rerun),
        "same version folder": left.output_prefix in (None, final.output_prefix),
        "same file list": _paths(end.manifest) == _paths(uninterrupted.manifest),
        # Frames, camera and depth, byte for byte: a re-run stage computes the same.
        "same bytes": _outputs(end.files) == _outputs(uninterrupted.files),
        "only the listed files": end.files.keys() == {*_paths(end.manifest), MANIFEST},
        "files as listed": listed
        == {k: hashlib.sha256(end.files.get(k, b"")).hexdigest() for k in listed},
        # A second notification only from a worker killed between sending the first and
        # recording it (at least once, by contract).
        "job.published once": crash.sent == 1 + crash.sent_before
        and crash.sent_before <= was_published,
        "notified and finished": final.notified() and not crash.unfinished,
    }
