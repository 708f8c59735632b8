"""SAM 3 masks: the real model code on a tiny model, chunks stitched into one id."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest_service.jobs.states import JobState, StageStatus
from ingest_service.masks.sam3 import chunk_plan, finalize, track_chunk
from ingest_service.masks.stitch import Stitcher
from ingest_service.masks.writer import MaskWriter, label_for
from ingest_service.models.runtime import Runtime
from ingest_service.models.sam3_video import Instance
from ingest_service.publish.manifest import Manifest
from ingest_service.samples.plate import make_plate
from storage import LocalStore
from tests.jobs import run_plate


def _disc(cx: int, cy: int, r: int = 10, size: tuple[int, int] = (60, 80)) -> np.ndarray:
    yy, xx = np.mgrid[: size[0], : size[1]]
    out: np.ndarray = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    return out


class ScriptedSessions:
    """Stands in for the model: each session numbers its objects from its own base, as
    separate SAM 3 sessions do, while the objects themselves move steadily."""

    runtime = Runtime("cpu", "float32", "cpu")

    def __init__(self) -> None:
        self.sessions = 0

    def start(self, prompts: list[str], height: int, width: int) -> ScriptedSessions.Session:
        self.sessions += 1
        return self.Session(base=100 * self.sessions)

    class Session:
        def __init__(self, base: int) -> None:
            self.base = base

        def track(self, rgb: np.ndarray) -> list[Instance]:
            t = int(rgb[0, 0, 0])  # the frame index, written into the pixel
            return [
                Instance("person", self.base + 1, 0.9, _disc(10 + 2 * t, 20)),
                Instance("person", self.base + 2, 0.8, _disc(70 - 2 * t, 40)),
                Instance("car", self.base + 3, 0.7, _disc(40, 30, 6)),
            ]


def test_chunk_plan_overlaps_and_writes_each_frame_once() -> None:
    assert chunk_plan(25, 10, 3) == [(0, 10, 0), (7, 17, 10), (14, 24, 17), (21, 25, 24)]
    assert chunk_plan(5, 10, 3) == [(0, 5, 0)]


def test_chunks_stitch_into_one_id_per_object_across_seams(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "bucket")
    model = ScriptedSessions()
    labels = {"person": "person", "car": "car"}

    def writer() -> MaskWriter:
        return MaskWriter(store, "out/masks/", first=1001, count=25, width=80, height=60)

    chunks = [
        track_chunk(
            model,
            lambda i: np.full((60, 80, 3), i, np.uint8),
            labels,  # type: ignore[arg-type]
            plan,
            3,
            writer(),
            "work/",
        )
        for plan in chunk_plan(25, 10, 3)
    ]
    assert model.sessions == 4
    final = writer()
    instances = finalize(chunks, store, final, labels, "work/")
    assert instances == {"person": [1, 2], "car": [3]}
    for folder in ("person", "car", "person/instance-01", "person/instance-02", "car/instance-03"):
        sequence = final.complete(folder)
        assert sequence.count == 25 and sequence.frame_range.first == 1001
    # Instance 1 is the disc moving right in every frame, whichever chunk tracked it.
    for index in (0, 9, 10, 16, 17, 24):
        data = store.get(f"out/masks/person/instance-01/mask.{1001 + index}.png").data
        mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) == 255
        assert np.array_equal(mask, _disc(10 + 2 * index, 20))
    # Each frame's combined mask was written once, by the chunk that owned the frame.
    combined = [f for f in final.files if f.key.startswith("out/masks/person/mask.")]
    assert sorted(f.frame for f in combined) == list(range(1001, 1026))


def test_stitcher_needs_overlap_and_the_same_prompt() -> None:
    stitcher = Stitcher()
    assert stitcher.plate_id(7) == 1 and stitcher.plate_id(8) == 2
    previous = {5: {1: _disc(20, 20), 2: _disc(60, 40)}}
    current = {5: {30: _disc(21, 20), 31: _disc(60, 40), 32: _disc(61, 40)}}
    stitcher.new_chunk(
        previous, current, {30: "person", 31: "car", 32: "person"}, {1: "person", 2: "person"}
    )
    assert stitcher.plate_id(30) == 1
    assert stitcher.plate_id(32) == 2  # same prompt and place as 2; 31 is a car
    assert stitcher.plate_id(31) == 3


def test_labels_are_folder_safe_and_unique() -> None:
    taken: set[str] = set()
    assert label_for("Red car", taken) == "red_car"
    assert label_for("red car", taken) == "red_car_2"
    assert label_for("../../etc", taken) == "etc"


@pytest.mark.slow
def test_sam3_stage_publishes_a_combined_and_per_instance_sequences(
    tmp_path: Path, models_dir: Path
) -> None:
    plate = make_plate(tmp_path / "plate.mov", seconds=0.5, width=96, height=64)  # 12 frames
    services, record = run_plate(
        tmp_path,
        plate,
        ["probe", "frames", "masks"],
        models_dir=models_dir,
        masks_backend="sam3",
        mask_prompts=["person", "red car"],
        masks_chunk_frames=8,
        masks_chunk_overlap=2,
    )
    assert record.state is JobState.PUBLISHED
    run = record.stages["masks"]
    assert run.status is StageStatus.DONE, run.error
    assert list(record.stages) == ["probe", "frames", "masks"]  # no camera or depth needed
    manifest = Manifest.model_validate_json(services.store.get(record.manifest_key).data)  # type: ignore[arg-type]
    details = manifest.stages["masks"].details
    assert details["prompts"] == ["person", "red car"] and details["prompts_honoured"] is True
    assert set(details["labels"]) == {"person", "red_car"}
    names = {s.name: s for s in manifest.sequences}
    assert names["person"].hash_pattern == "mask.####.png"
    assert names["person"].count == 12
    instances = [n for n in names if n.startswith("person/instance-")]
    assert instances and details["labels"]["person"]["instances"] == len(instances)
    for name in instances:  # every instance sequence covers the whole range
        assert names[name].count == 12
    prefix = record.output_prefix
    combined = cv2.imdecode(
        np.frombuffer(services.store.get(f"{prefix}masks/person/mask.0005.png").data, np.uint8),
        cv2.IMREAD_UNCHANGED,
    )
    assert combined.shape == (64, 96) and combined.dtype == np.uint8
    union = np.zeros_like(combined, dtype=bool)
    for name in instances:
        data = services.store.get(f"{prefix}masks/{name}/mask.0005.png").data
        union |= cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) == 255
    assert np.array_equal(union, combined == 255)  # combined is the union of its instances
