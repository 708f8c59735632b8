from __future__ import annotations

from pathlib import Path

import pytest

from ingest_service.errors import SettingsError
from ingest_service.jobs.options import DepthBackend, FrameFormat, MasksBackend
from ingest_service.settings import Settings, load_settings


def test_defaults_are_the_embedded_workstation_setup() -> None:
    s = Settings()
    assert s.store == "bucket"
    assert s.stages == ["probe", "frames", "camera", "depth", "masks"]
    assert s.frame_format is FrameFormat.PNG
    assert s.state_prefix == ".ingest/"
    # No weights needed out of the box: both model-free backends.
    assert s.depth_backend is DepthBackend.CLASSICAL
    assert s.masks_backend is MasksBackend.CLASSICAL
    assert s.mask_prompts == ["person"]


def test_environment_is_read_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_STAGES", "probe, frames")
    monkeypatch.setenv("INGEST_FRAME_FORMAT", "exr")
    monkeypatch.setenv("INGEST_INCOMING_PREFIX", "/drop/zone")
    monkeypatch.setenv("INGEST_MASK_PROMPTS", "person, red car")
    monkeypatch.setenv("INGEST_DEPTH_BACKEND", "depth-anything")
    s = Settings()
    assert s.mask_prompts == ["person", "red car"]
    assert s.depth_backend is DepthBackend.DEPTH_ANYTHING
    assert s.stages == ["probe", "frames"]
    assert s.frame_format is FrameFormat.EXR
    assert s.incoming_prefix == "drop/zone/"


def test_nested_prefixes_are_refused() -> None:
    with pytest.raises(SettingsError, match="must not nest"):
        load_settings(incoming_prefix="data/", published_prefix="data/out/")


def test_production_refuses_unsigned_or_plain_http_webhooks(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SIGNING_KEY"):
        load_settings(environment="production", notify_url="https://hooks.example.com/x")
    with pytest.raises(SettingsError, match="https"):
        load_settings(
            environment="production",
            notify_url="http://hooks.example.com/x",
            notify_signing_key="k",
        )
    ok = load_settings(
        environment="production",
        notify_url="https://hooks.example.com/x",
        notify_signing_key="s3cr3t-signing-key",
    )
    assert "s3cr3t" not in repr(ok)  # secrets never print


def test_mask_chunks_must_be_longer_than_twice_their_overlap() -> None:
    with pytest.raises(SettingsError, match="masks_chunk_overlap"):
        load_settings(masks_chunk_frames=16, masks_chunk_overlap=9)


def test_bad_values_are_clear() -> None:
    with pytest.raises(SettingsError, match="png_compression"):
        load_settings(png_compression=12)
