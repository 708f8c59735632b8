"""The cost estimate: CPU core-hours plus the GPU the stage ran on, from a dated table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest_service.costs import GPU_HOUR_USD, PRICES_AS_OF, Pricing, gpu_hour_price
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("device", "key"),
    [
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100"),
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA L4", "L4"),
        ("Tesla T4", "T4"),
        ("NVIDIA A10G", "A10G"),
    ],
)
def test_cuda_device_names_find_their_price(device: str, key: str) -> None:
    assert gpu_hour_price(device, GPU_HOUR_USD) == GPU_HOUR_USD[key]


def test_cpu_and_unknown_cards_have_no_gpu_price() -> None:
    assert gpu_hour_price("cpu", GPU_HOUR_USD) is None
    assert gpu_hour_price("Some Future Card", GPU_HOUR_USD) is None


def test_stage_cost_adds_the_gpu_hour_to_the_cores() -> None:
    pricing = Pricing(cpu_core_hour_usd=0.05, gpu_hour_usd={"H100": 4.0})
    assert pricing.stage_cost(3600, 2, "cpu") == pytest.approx(0.10)
    assert pricing.stage_cost(1800, 2, "NVIDIA H100 80GB HBM3") == pytest.approx(0.05 + 2.0)
    assert PRICES_AS_OF in pricing.basis


def test_the_table_can_be_overridden_from_the_environment(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_GPU_HOUR_USD", '{"H100": 2.5}')
    settings = make_settings(tmp_path)  # type: ignore[arg-type]
    assert settings.pricing.gpu_hour_usd == {"H100": 2.5}


def test_gpu_time_from_parallel_workers_is_billed_not_the_wall_time() -> None:
    pricing = Pricing(cpu_core_hour_usd=0.0, gpu_hour_usd={"H100": 3.6})
    # Four workers for 900 s each while the stage waited 900 s: 3600 GPU-seconds.
    assert pricing.stage_cost(900, 8, "NVIDIA H100 80GB HBM3", gpu_seconds=3600) == 3.6


def test_reserved_memory_is_billed_for_the_whole_wall_time() -> None:
    pricing = Pricing(cpu_core_hour_usd=0.05, gpu_hour_usd={"H100": 4.0}, memory_gib_hour_usd=0.01)
    # Four cores and 32 GiB for an hour, half of it waiting on a GPU worker's 1800 s.
    cost = pricing.stage_cost(3600, 4, "NVIDIA H100", gpu_seconds=1800, memory_gib=32)
    assert cost == pytest.approx(4 * 0.05 + 32 * 0.01 + 2.0)
    assert "GiB-hour" in pricing.basis


def test_every_default_price_is_of_one_date() -> None:
    settings = make_settings(Path("unused"))
    assert settings.pricing.memory_gib_hour_usd > 0 and settings.pricing.cpu_core_hour_usd > 0
    docs = (Path(__file__).parents[2] / "docs" / "MODAL-DEPLOYMENT.md").read_text()
    assert f"as of {PRICES_AS_OF}" in docs
    stated = set(re.findall(r"as of (\d{4}-\d{2})", docs))
    assert stated == {PRICES_AS_OF}
