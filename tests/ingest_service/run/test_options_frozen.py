"""A job runs with the options it was claimed with, whatever the settings say later, and
wherever its stages run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ingest_service.cli.plates import ref_for_local_file
from ingest_service.jobs.options import FrameFormat
from ingest_service.jobs.states import JobState
from ingest_service.run import pipeline
from ingest_service.run.intake import claim_plate
from ingest_service.run.remote import run_stage_for_job
from ingest_service.services import Services
from ingest_service.stages import frames, table
from ingest_service.stages.base import StageContext, StageOutput
from storage import LocalStore
from tests.conftest import make_settings
from tests.plates import Plates


def test_a_setting_changed_between_attempts_does_not_change_the_job(
    tmp_path: Path, plates: Plates, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "bucket")
    before = Services.build(make_settings(tmp_path, camera_overlap=10, workers=2), store=store)
    ref = ref_for_local_file(store, plates.h264, key="incoming/sh0040.mov")
    job_id = claim_plate(before, ref).record.job_id

    seen: list[tuple[int, int]] = []

    def frames_after_a_dropped_connection(ctx: StageContext) -> StageOutput:
        seen.append((ctx.settings.camera_overlap, ctx.settings.workers))
        if len(seen) == 1:
            raise ConnectionResetError("network dropped")
        return frames.run(ctx)

    spy = dataclasses.replace(table.STAGES[1], run=frames_after_a_dropped_connection)
    monkeypatch.setattr(table, "STAGES", (table.STAGES[0], spy, *table.STAGES[2:]))
    failed = pipeline.run(job_id, before)
    assert failed.state is JobState.FAILED and failed.retry_allowed

    # The operator changes the settings; the job, resumed, still runs as it was claimed.
    after = Services.build(
        make_settings(
            tmp_path,
            frame_format="jpeg",
            first_frame=1001,
            camera_overlap=50,
            workers=1,
            stages=["probe"],
        ),
        store=store,
    )
    done = pipeline.run(job_id, after)
    assert done.state is JobState.PUBLISHED, done.error
    assert done.options.frame_format is FrameFormat.PNG and done.options.stages == [
        "probe",
        "frames",
    ]
    assert done.stages["frames"].parameters["first_frame"] == 1
    assert store.head(f"{done.output_prefix}frames/frame.0001.png").size > 0
    # Options come from the record; the machine's own settings (threads) from the machine.
    assert seen == [(10, 2), (10, 1)]


def test_a_stage_run_elsewhere_reads_the_record_not_its_environment(
    tmp_path: Path, plates: Plates
) -> None:
    store = LocalStore(tmp_path / "bucket")
    claimer = Services.build(make_settings(tmp_path, frame_format="jpeg"), store=store)
    ref = ref_for_local_file(store, plates.h264, key="incoming/sh0050.mov")
    job_id = claim_plate(claimer, ref).record.job_id
    record = pipeline.run(job_id, claimer)
    assert record.state is JobState.PUBLISHED

    # A worker whose environment says PNG re-runs the frames stage from the record alone.
    worker = Services.build(make_settings(tmp_path, frame_format="png"), store=store)
    output = run_stage_for_job(worker, record, "frames")
    assert output.parameters["format"] == "jpeg"
