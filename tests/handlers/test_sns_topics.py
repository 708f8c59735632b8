"""Which SNS topics the webhook takes: a production webhook must name them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from handlers.app import create_app
from handlers.serve import serve
from ingest_service.errors import SettingsError
from ingest_service.services import Services
from storage import LocalStore
from tests.conftest import make_settings
from tests.handlers.conftest import TOKEN, RecordingDispatcher

TOPIC = "arn:aws:sns:us-east-1:123456789012:plates"


def _services(tmp_path: Path, **overrides: object) -> Services:
    settings = make_settings(tmp_path, webhook_token=TOKEN, **overrides)
    return Services.build(settings, store=LocalStore(tmp_path / "bucket"))


def test_production_webhook_refuses_to_start_without_a_topic_list(tmp_path: Path) -> None:
    services = _services(tmp_path, environment="production")
    with pytest.raises(SettingsError, match="INGEST_SNS_TOPIC_ARNS") as refused:
        create_app(services, RecordingDispatcher())
    assert "any AWS account" in str(refused.value)
    with pytest.raises(SettingsError, match="INGEST_SNS_TOPIC_ARNS"):
        serve(services, host="127.0.0.1", port=0)  # before it listens or polls


def test_production_webhook_starts_with_a_topic_list(tmp_path: Path) -> None:
    services = _services(tmp_path, environment="production", sns_topic_arns=TOPIC)
    assert create_app(services, RecordingDispatcher()).state.services is services


def test_production_without_a_webhook_needs_no_topic_list(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, environment="production")
    services = Services.build(settings, store=LocalStore(tmp_path / "bucket"))
    assert create_app(services, RecordingDispatcher()).state.services is services


def test_development_warns_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="handlers.sns_signature"):
        create_app(_services(tmp_path), RecordingDispatcher())
    [warning] = [
        r.getMessage() for r in caplog.records if "INGEST_SNS_TOPIC_ARNS" in r.getMessage()
    ]
    assert "any topic" in warning


def test_development_with_a_topic_list_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="handlers.sns_signature"):
        create_app(_services(tmp_path, sns_topic_arns=TOPIC), RecordingDispatcher())
    assert not [r for r in caplog.records if "INGEST_SNS_TOPIC_ARNS" in r.getMessage()]
