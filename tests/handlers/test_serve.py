"""`ingest-service serve` as a user runs it: drop a file in the folder, get a published plate."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.plates import Plates


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_file_dropped_into_the_folder_is_published_and_shutdown_is_clean(
    tmp_path: Path, plates: Plates
) -> None:
    bucket, port = tmp_path / "bucket", _free_port()
    env = {
        **os.environ,
        "INGEST_WEBHOOK_TOKEN": "serve-test-token-123456",
        "INGEST_SETTLE_S": "0.5",
        "INGEST_STAGES": "probe,frames",
        "INGEST_NOTIFY_LOG": str(tmp_path / "n.jsonl"),
    }
    script = Path(sys.executable).with_name("ingest-service")
    server = subprocess.Popen(
        [script, "serve", "--store", str(bucket), "--port", str(port), "--poll-interval", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        (bucket / "incoming" / "dropped").mkdir(parents=True)
        shutil.copy(plates.h264, bucket / "incoming" / "dropped" / "sh0010.mov")  # drag and drop
        manifest = bucket / "published" / "dropped" / "sh0010" / "v001" / "manifest.json"
        while time.monotonic() < deadline and not manifest.exists():
            time.sleep(0.2)
        assert manifest.exists(), "the dropped plate was not published within 30 s"
        refused = httpx.post(f"{base}/events", json={})
        assert refused.status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
    assert "watching" in output and "shutting down" in output
