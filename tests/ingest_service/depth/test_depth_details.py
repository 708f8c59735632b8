"""The manifest's depth details say which geometry depth is in, and how to get back to the
plate: a pipeline tool reading the manifest needs nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_service.camera.lens import Lens
from ingest_service.costs import Pricing
from ingest_service.publish.manifest import Manifest, build_manifest
from ingest_service.stages import depth as depth_stage
from tests.lens_plates import PREFIX, F, H, W, lens_job, record_output

BARREL = Lens(F, F, W / 2, H / 2, k1=-0.3, k2=0.08)
PINHOLE = Lens(F, F, W / 2, H / 2)


def _depth_details(folder: Path, lens: Lens) -> dict[str, object]:
    plate = lens_job(folder, lens, frames=6)
    record = plate.ctx.job
    record_output(record, "depth", depth_stage.run(plate.ctx))
    record.shot, record.version, record.output_prefix = "lens", "v001", PREFIX
    manifest = build_manifest(record, pricing=Pricing(cpu_core_hour_usd=0.0, gpu_hour_usd={}))
    # As a reader finds it: through the published JSON.
    published = Manifest.model_validate_json(manifest.model_dump_json())
    return published.stages["depth"].details


@pytest.mark.slow
def test_depth_through_a_distorted_lens_is_said_to_be_undistorted(tmp_path: Path) -> None:
    details = _depth_details(tmp_path, BARREL)
    assert details["geometry"] == "undistorted"
    assert details["redistort_stmap"] == f"{PREFIX}camera/stmap_redistort.exr"


@pytest.mark.slow
def test_depth_through_a_pinhole_is_on_the_plate_with_no_map(tmp_path: Path) -> None:
    details = _depth_details(tmp_path, PINHOLE)
    assert details["geometry"] == "plate"
    assert details["redistort_stmap"] is None
