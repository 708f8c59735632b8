"""The cost estimate in manifests: CPU core-hours plus GPU-hours by device.

Modal's published on-demand prices per GPU-hour (per-second billing times 3600), as read
from modal.com/pricing in October 2025. Prices change: override the table with
`INGEST_GPU_HOUR_USD='{"H100": 3.95, ...}'` rather than editing it. Keys are matched
against the device name CUDA reports ("NVIDIA H100 80GB HBM3", "Tesla T4", ...).
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2025-10"

GPU_HOUR_USD: dict[str, float] = {
    "B200": 6.25,
    "H200": 4.54,
    "H100": 3.95,
    "A100-80GB": 2.50,
    "A100": 2.10,  # the 40 GB card
    "L40S": 1.95,
    "A10G": 1.10,
    "L4": 0.80,
    "T4": 0.59,
}


def gpu_hour_price(device: str, table: dict[str, float]) -> float | None:
    """The hourly price of the GPU a stage ran on, or None for a CPU or an unknown card.

    The longest matching key wins, so "A100-80GB" beats "A100" and "L40S" beats "L4".
    """
    name = device.upper().replace(" ", "-")
    if "A100" in name and "80GB" in name:
        name += " A100-80GB"
    matches = [key for key in table if key.upper() in name]
    if not matches:
        return None
    return table[max(matches, key=len)]


@dataclass(frozen=True)
class Pricing:
    cpu_core_hour_usd: float
    gpu_hour_usd: dict[str, float]

    def stage_cost(
        self, duration_s: float, cpu_cores: int, device: str, gpu_seconds: float | None = None
    ) -> float:
        """Wall time x cores x the CPU price, plus GPU time x the GPU's price.

        GPU time is what the workers report (several may run at once); without it, the
        stage's wall time.
        """
        cost = duration_s * cpu_cores * self.cpu_core_hour_usd
        gpu = gpu_hour_price(device, self.gpu_hour_usd) if device != "cpu" else None
        if gpu is not None:
            cost += (duration_s if gpu_seconds is None else gpu_seconds) * gpu
        return round(cost / 3600, 6)

    @property
    def basis(self) -> str:
        return (
            f"wall time x cores x {self.cpu_core_hour_usd} USD per core-hour, plus GPU "
            f"seconds x the GPU's hourly price (table as of {PRICES_AS_OF})"
        )
