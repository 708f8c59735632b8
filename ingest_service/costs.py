"""The cost estimate in manifests: CPU core-hours, memory GiB-hours and GPU-hours by device.

Modal's published on-demand prices (per-second billing times 3600), all read from
modal.com/pricing on one date, PRICES_AS_OF. Prices change: override them with
`INGEST_CPU_CORE_HOUR_USD`, `INGEST_MEMORY_GIB_HOUR_USD` and
`INGEST_GPU_HOUR_USD='{"H100": 3.95, ...}'` rather than editing them. GPU keys are matched
against the device name CUDA reports ("NVIDIA H100 80GB HBM3", "Tesla T4", ...).
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2025-10"

CPU_CORE_HOUR_USD = 0.0473  # per physical core: $0.0000131 a second
MEMORY_GIB_HOUR_USD = 0.008  # $0.00000222 a GiB-second

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
    memory_gib_hour_usd: float = 0.0

    def stage_cost(
        self,
        duration_s: float,
        cpu_cores: int,
        device: str,
        gpu_seconds: float | None = None,
        *,
        memory_gib: float = 0.0,
    ) -> float:
        """Wall time x (cores x the CPU price + reserved memory x its price), plus GPU
        time x the GPU's price.

        The wall time includes any wait on GPU workers: the stage's function is billed
        for it. GPU time is what the workers report (several may run at once); without
        it, the stage's wall time.
        """
        hourly = cpu_cores * self.cpu_core_hour_usd + memory_gib * self.memory_gib_hour_usd
        cost = duration_s * hourly
        gpu = gpu_hour_price(device, self.gpu_hour_usd) if device != "cpu" else None
        if gpu is not None:
            cost += (duration_s if gpu_seconds is None else gpu_seconds) * gpu
        return round(cost / 3600, 6)

    @property
    def basis(self) -> str:
        return (
            f"wall time x (cores x {self.cpu_core_hour_usd} USD per core-hour + reserved "
            f"memory x {self.memory_gib_hour_usd} USD per GiB-hour), plus GPU seconds x the "
            f"GPU's hourly price (prices as of {PRICES_AS_OF})"
        )
