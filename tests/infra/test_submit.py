"""`ingest-service submit s3://… --modal` claims in the deployed app, not on the laptop.

Modal's two calls are faked: the lookup of the deployed function (which here runs the
`submit` function's body with `.local()`, against moto) and the spawn of the job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import modal
import pytest

from infra import modal_app
from infra.cli import main
from ingest_service.jobs.states import JobState
from ingest_service.services import Services
from ingest_service.settings import load_settings
from storage import S3Store
from tests.plates import Plates


@dataclass
class Deployed:
    """A deployed function: `.remote` runs its body here."""

    remote: Any


@dataclass
class FakeModal:
    """The deployed app as the CLI reaches it: looked up by name, its jobs spawned."""

    looked_up: list[tuple[str, str, str | None]] = field(default_factory=list)
    spawned: list[str] = field(default_factory=list)

    def from_name(self, app: str, name: str, *, environment_name: str | None = None) -> Any:
        self.looked_up.append((app, name, environment_name))
        return Deployed(getattr(modal_app, name).local)

    def spawn(self, job_id: str) -> None:
        self.spawned.append(job_id)


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, s3_env: S3Store) -> FakeModal:
    fake = FakeModal()
    monkeypatch.setattr(modal.Function, "from_name", fake.from_name)
    monkeypatch.setattr(modal_app.run_job, "spawn", fake.spawn)
    return fake


def test_submit_claims_in_the_deployment_and_starts_the_job_once(
    deployed: FakeModal,
    s3_env: S3Store,
    plates: Plates,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3_env.put("incoming/sh0040.mov", plates.h264.read_bytes())
    uri = f"s3://{s3_env.bucket}/incoming/sh0040.mov"
    assert main(["submit", uri, "--modal", "--env", "smoke"]) == 0
    assert deployed.looked_up == [("ingest-service", "submit", "smoke")]
    job_id = capsys.readouterr().out.split(":")[0]
    assert deployed.spawned == [job_id]
    services = Services.build(load_settings(), store=s3_env)
    assert services.ledger.get(job_id).state is JobState.CLAIMED

    assert main(["submit", uri, "--modal"]) == 0  # already claimed: not started again
    assert deployed.spawned == [job_id]


def test_submit_refuses_a_bucket_the_deployment_does_not_watch(
    deployed: FakeModal, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", "s3://someone-elses/incoming/a.mov", "--modal"]) == 2
    assert "not someone-elses" in capsys.readouterr().err
    assert deployed.spawned == []


@pytest.mark.parametrize(
    "argv",
    [["submit", "s3://b/incoming/a.mov"], ["submit", "incoming/a.mov", "--modal"]],
)
def test_submit_needs_a_deployment_and_a_full_uri(
    deployed: FakeModal, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert deployed.looked_up == []
