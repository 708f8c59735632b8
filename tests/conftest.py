"""Shared fixtures: stores (folder, in-process moto, moto over HTTP), settings, plates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Before numpy/cv2/av load: small frames on 2 cores are far slower oversubscribed.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Models come from folders the tests build; nothing may reach for the hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# moto accepts any credentials; these keep a developer's real ones out of every test.
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[name] = value
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
    os.environ.pop(name, None)
for name in [n for n in os.environ if n.startswith("INGEST_")]:
    del os.environ[name]

import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from ingest_service.services import Services
from ingest_service.settings import Settings
from storage import LocalStore, ObjectStore, S3Store, make_client
from tests.http_receiver import Receiver
from tests.plates import Plates

BUCKET = "test-plates"


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "bucket")


@pytest.fixture
def racing_store(tmp_path: Path) -> LocalStore:
    """For tests of concurrent conditional writes: the folder store, which decides each
    one atomically as S3 does. moto checks a condition and writes in two steps, so two
    racing threads can both win there, and such a test would fail on a good build."""
    return LocalStore(tmp_path / "bucket")


@pytest.fixture
def s3_store() -> Iterator[S3Store]:
    with mock_aws():
        client = make_client(region="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield S3Store(BUCKET, client=client)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """Every test that takes `store` runs against both backends."""
    if request.param == "local":
        yield LocalStore(tmp_path / "bucket")
    else:
        yield request.getfixturevalue("s3_store")


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A real HTTP S3 endpoint on loopback (one per test module)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def http_s3_store(moto_server: str) -> S3Store:
    import uuid

    client = make_client(endpoint_url=moto_server, region="us-east-1")
    bucket = f"plates-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Store(bucket, client=client)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "store": str(tmp_path / "bucket"),
        # The camera solve has its own tests; most tests need only the frames.
        "stages": ["probe", "frames"],
        "workers": 2,
        "notify_log": tmp_path / "notifications.jsonl",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def services(store: ObjectStore, tmp_path: Path) -> Services:
    return Services.build(make_settings(tmp_path), store=store)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding tiny random Depth Anything V2 and SAM 3 snapshots."""
    from tests.tiny_models import build_depth_anything, build_sam3

    folder = tmp_path_factory.mktemp("models")
    build_depth_anything(folder / "depth-anything-v2-small")
    build_sam3(folder / "sam3")
    return folder


@pytest.fixture(scope="session")
def plates(tmp_path_factory: pytest.TempPathFactory) -> Plates:
    return Plates(tmp_path_factory.mktemp("plates"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
