"""Each option is declared once; the setting, the sidecar field and the record field follow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest_service.errors import SettingsError
from ingest_service.jobs.options import PLATE, JobDefaults, JobOptions, PlateOptions
from ingest_service.settings import Settings, load_settings

# Settings that say where and how this machine runs, not what a job makes. A new setting
# must be added here or be declared as a job option: this test makes someone choose.
MACHINE_SETTINGS = {
    "environment",
    "store",
    "s3_endpoint_url",
    "s3_region",
    "incoming_prefix",
    "published_prefix",
    "state_prefix",
    "workers",
    "models_dir",
    "model_device",
    "model_batch_size",
    "max_frame_pixels",
    "max_frame_side",
    "lease_seconds",
    "max_attempts",
    "max_job_seconds",
    "notify_url",
    "notify_signing_key",
    "notify_sns_topic_arn",
    "notify_log",
    "notify_timeout_s",
    "notify_attempts",
    "webhook_token",
    "max_event_bytes",
    "sns_topic_arns",
    "sns_max_age_s",
    "poll_interval_s",
    "dispatch_grace_s",
    "settle_s",
    "serve_workers",
    "cpu_core_hour_usd",
    "memory_gib_hour_usd",
    "gpu_hour_usd",
}


def test_every_setting_is_a_job_option_or_the_machines_own() -> None:
    options = set(JobDefaults.model_fields)
    assert set(Settings.model_fields) == options | MACHINE_SETTINGS
    assert not options & MACHINE_SETTINGS


def test_the_sidecar_may_set_exactly_the_options_marked_plate() -> None:
    marked = {n for n, f in JobOptions.model_fields.items() if PLATE in f.metadata}
    assert set(PlateOptions.model_fields) == marked
    assert {"shot", "frame_range", "stages", "mask_prompts", "focal_length_mm"} <= marked
    assert all(not f.is_required() for f in PlateOptions.model_fields.values())


def test_one_declaration_checks_the_setting_the_sidecar_and_the_record_alike() -> None:
    with pytest.raises(SettingsError, match="first_frame"):
        load_settings(first_frame=-1)
    with pytest.raises(ValidationError, match="first_frame"):
        PlateOptions.model_validate({"first_frame": -1})
    with pytest.raises(ValidationError, match="first_frame"):
        JobOptions(first_frame=-1)


def test_claim_options_are_the_settings_then_the_sidecar() -> None:
    settings = Settings(frame_format="exr", camera_overlap=20, mask_prompts="person, car")
    base = JobOptions.from_defaults(settings)
    assert (base.frame_format, base.camera_overlap, base.mask_prompts) == (
        "exr",
        20,
        ["person", "car"],
    )
    plate = PlateOptions.model_validate({"frame_format": "jpeg", "shot": "sq/sh 10"})
    merged = base.with_plate(plate, "incoming/x.mov.json")
    assert (merged.frame_format, merged.shot, merged.camera_overlap) == ("jpeg", "sq/sh_10", 20)
    assert merged.sidecar_key == "incoming/x.mov.json"
    # And a job's settings are the machine's with the job's options over them.
    job_settings = Settings(frame_format="png", workers=3).for_job(merged)
    assert (job_settings.frame_format, job_settings.workers) == ("jpeg", 3)
