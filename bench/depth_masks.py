"""Depth and masks backends: speed, memory and quality on plates with ground truth.

Parts (run one or several):

- `plates`: the classical backends on the renderer's plates (dolly, orbit, handheld, long
  lens, a large box passing close; each with a box moving on its own) over a clip of
  frames where the box is seen and then gone, with true cameras: AbsRel and delta<1.25
  (all pixels, and the pixels marked known), mask IoU on frames with the box, empty masks
  on frames without, CPU seconds per frame and flicker (see depth_masks_plates.py).

- `classical`: renders a dolly plate with a box that moves on its own (true depth and
  true mask known), runs probe, frames, camera, depth and masks through the pipeline,
  and scores depth (AbsRel, delta<1.25 after one scale for the whole plate: the solve's
  units are arbitrary) and masks (IoU with the moving box). Frames/s per stage and the
  process's peak RSS.
- `neural-cpu`: Depth Anything V2 Small and SAM 3 at their published sizes with random
  weights, on this CPU at the models' native resolution: frames/s (timings are true,
  predictions are noise). Baseline: the classical depth stage's frames/s above.
- `gpu`: the same models on CUDA; Depth Anything V2 S/B/L at batch 1/4/16 in float16
  against float32 at batch 1 (the baseline), and SAM 3 streaming in bfloat16 against
  float32, with and without objects to track. Peak GPU memory per run.

Prints a table per part and writes bench/results/depth_masks[_PART].json.

    python bench/depth_masks.py --part classical,neural-cpu
    python bench/depth_masks.py --part gpu   # on a machine with a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = [max(len(c), *(len(f"{r.get(c, '')}") for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print("  ".join(f"{r.get(c, '')}".ljust(w) for c, w in zip(columns, widths, strict=True)))


# -- classical ----------------------------------------------------------------------------


def classical(frames: int, width: int, height: int) -> list[dict[str, Any]]:
    import tempfile

    import cv2

    from ingest_service.depth.writers import read_depth_exr
    from ingest_service.samples.scene import Scene, render_plate
    from tests.jobs import run_plate

    focal = 0.78 * width
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plate = work / "mover.mp4"
        cams = render_plate(
            plate, "dolly", frames=frames, width=width, height=height, f=focal, mover=True
        )
        stages = ["probe", "frames", "camera", "depth", "masks"]
        services, record = run_plate(work, plate, stages)
        scene = Scene(mover=True)
        depths, truths, ious = [], [], []
        for i in range(frames):
            _, z, moving = scene.render(cams[i], focal, width, height, i)
            key = f"{record.output_prefix}depth/depth.{i + 1:04d}.exr"
            depths.append(read_depth_exr(services.store.get(key).data, work))
            truths.append(z)
            data = services.store.get(f"{record.output_prefix}masks/moving/mask.{i + 1:04d}.png")
            mask = cv2.imdecode(np.frombuffer(data.data, np.uint8), cv2.IMREAD_UNCHANGED) == 255
            ious.append(float((mask & moving).sum() / max((mask | moving).sum(), 1)))
        est, tru = (
            np.concatenate([d.ravel() for d in depths]),
            np.concatenate([t.ravel() for t in truths]),
        )
        scale = np.median(tru / est)  # one scale for the plate: the solve's units
        est = est * scale
        absrel = float(np.mean(np.abs(est - tru) / tru))
        delta = float(np.mean(np.maximum(est / tru, tru / est) < 1.25))
        for name in ("depth", "masks"):
            run = record.stages[name]
            row: dict[str, Any] = {
                "backend": f"{name}: {run.backend}",
                "status": run.status.value,
                "frames_per_s": round(frames / run.duration_s, 2),
                "peak_rss_mib": round(peak_rss_mib()),
            }
            if name == "depth":
                row.update(absrel=round(absrel, 4), delta_1_25=round(delta, 4))
            else:
                row.update(
                    mask_iou_mean=round(float(np.mean(ious)), 3),
                    mask_iou_min=round(float(np.min(ious)), 3),
                )
            rows.append(row)
    return rows


# -- neural, any device --------------------------------------------------------------------


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _reset_peak(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak(device: str) -> float:
    import torch

    if device == "cuda":
        return round(torch.cuda.max_memory_allocated() / 2**20)
    return round(peak_rss_mib())


def _device_name(device: str) -> str:
    import torch

    return str(torch.cuda.get_device_name(0)) if device == "cuda" else "cpu"


def _measured(rows: list[dict[str, Any]], device: str, **row: Any) -> None:
    """A throughput row with the peak memory it took and the device, printed as it comes
    (a long GPU run shows progress)."""
    rows.append({**row, "peak_mib": _peak(device), "device": _device_name(device)})
    print(json.dumps(rows[-1]), flush=True)


def depth_throughput(
    device: str, sizes: list[str], batches: list[int], dtypes: list[str], seconds: float
) -> list[dict[str, Any]]:
    import torch

    from bench.architectures import depth_anything_v2
    from ingest_service.models.depth_anything import DepthAnything, Preprocess
    from ingest_service.models.runtime import Runtime

    name = _device_name(device)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (1080, 1920, 3), np.uint8)
    rows = []
    for size in sizes:
        base = depth_anything_v2(size, device)
        for dtype in dtypes:
            model = base.to(getattr(torch, dtype))
            runner = DepthAnything(model, Runtime(device, dtype, name), Preprocess(), False)
            for batch in batches:
                frames = [frame] * batch
                _reset_peak(device)
                runner.predict(frames)  # warm-up: kernels, allocator
                _sync(device)
                done, start = 0, time.perf_counter()
                while time.perf_counter() - start < seconds or done == 0:
                    runner.predict(frames)
                    done += batch
                _sync(device)
                elapsed = time.perf_counter() - start
                _measured(
                    rows,
                    device,
                    model=f"depth-anything-v2-{size}",
                    dtype=dtype,
                    batch=batch,
                    input="x".join(map(str, Preprocess().input_size(1080, 1920))),
                    frames_per_s=round(done / elapsed, 2),
                )
        del base, model, runner
    return rows


def sam3_throughput(
    device: str, dtypes: list[str], frames: int, loads: list[str]
) -> list[dict[str, Any]]:
    import torch

    from bench.architectures import sam3_video
    from ingest_service.models.runtime import Runtime
    from ingest_service.models.sam3_video import Normalise, Sam3Video
    from tests.tiny_models import char_tokenizer

    name = _device_name(device)
    rng = np.random.default_rng(1)
    clip = [rng.integers(0, 255, (1080, 1920, 3), np.uint8) for _ in range(4)]
    rows = []
    for load in loads:
        base = sam3_video(device, eager=load == "8 objects", max_objects=8)
        for dtype in dtypes:
            model = base.to(getattr(torch, dtype))
            runner = Sam3Video(model, char_tokenizer(), Runtime(device, dtype, name), Normalise())
            _reset_peak(device)
            session = runner.start(["person"], 1080, 1920)
            warm = 2
            counts = []
            for i in range(warm):
                runner.track(session, clip[i % len(clip)])
            _sync(device)
            start = time.perf_counter()
            for i in range(frames):
                counts.append(len(runner.track(session, clip[i % len(clip)])))
            _sync(device)
            elapsed = time.perf_counter() - start
            _measured(
                rows,
                device,
                model="sam3-video",
                dtype=dtype,
                load=load,
                objects_per_frame=round(float(np.mean(counts)), 1),
                frames_per_s=round(frames / elapsed, 2),
            )
        del base, model, runner
    return rows


def sam3_memory_growth(device: str, checkpoints: list[int]) -> list[dict[str, Any]]:
    """Peak memory of one session as frames go by (8 objects, bfloat16): whether a
    chunk's length, not just the frame size, bounds what SAM 3 holds."""
    import torch

    from bench.architectures import sam3_video
    from ingest_service.models.runtime import Runtime
    from ingest_service.models.sam3_video import Normalise, Sam3Video
    from tests.tiny_models import char_tokenizer

    name = _device_name(device)
    rng = np.random.default_rng(2)
    clip = [rng.integers(0, 255, (1080, 1920, 3), np.uint8) for _ in range(4)]
    model = sam3_video(device, eager=True, max_objects=8).to(torch.bfloat16)
    runner = Sam3Video(model, char_tokenizer(), Runtime(device, "bfloat16", name), Normalise())
    _reset_peak(device)
    session = runner.start(["person"], 1080, 1920)
    rows, done, start = [], 0, time.perf_counter()
    for target in checkpoints:
        while done < target:
            runner.track(session, clip[done % len(clip)])
            done += 1
        _sync(device)
        rows.append(
            {
                "frames": done,
                "peak_mib": _peak(device),
                "allocated_mib": round(torch.cuda.memory_allocated() / 2**20),
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", default="classical,neural-cpu")
    parser.add_argument("--frames", type=int, default=48, help="classical plate length")
    parser.add_argument("--size", default="640x360", help="classical plate size")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per depth setting")
    parser.add_argument("--sam3-frames", type=int, default=16)
    parser.add_argument("--plates", default="dolly,orbit,handheld,long_lens,close_mover")
    parser.add_argument("--plate-size", default="960x540", help="plates part: render size")
    parser.add_argument("--clip-frames", type=int, default=20, help="plates part: clip length")
    parser.add_argument("--working-size", type=int, default=480, help="depth/masks long side")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / "results" / "renders")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    parts = [p.strip() for p in args.part.split(",") if p.strip()]
    results: dict[str, Any] = {}
    if "plates" in parts:
        from bench.depth_masks_plates import COLUMNS, plates

        width, height = (int(v) for v in args.plate_size.split("x"))
        names = [p.strip() for p in args.plates.split(",") if p.strip()]
        rows = plates(names, width, height, args.clip_frames, args.working_size, args.cache)
        table(rows, COLUMNS)
        results["plates"] = rows
    if "classical" in parts:
        width, height = (int(v) for v in args.size.split("x"))
        rows = classical(args.frames, width, height)
        table(
            rows,
            [
                "backend",
                "status",
                "frames_per_s",
                "peak_rss_mib",
                "absrel",
                "delta_1_25",
                "mask_iou_mean",
                "mask_iou_min",
            ],
        )
        results["classical"] = rows
    if "neural-cpu" in parts:
        rows = depth_throughput("cpu", ["small"], [1, 4], ["float32"], args.seconds)
        table(rows, ["model", "dtype", "batch", "input", "frames_per_s", "peak_mib"])
        sam = sam3_throughput("cpu", ["float32"], max(2, args.sam3_frames // 8), ["no objects"])
        table(sam, ["model", "dtype", "load", "objects_per_frame", "frames_per_s", "peak_mib"])
        results["neural_cpu"] = rows + sam
    if "gpu" in parts:
        rows = depth_throughput(
            "cuda", ["small", "base", "large"], [1, 4, 16], ["float16"], args.seconds
        )
        rows += depth_throughput("cuda", ["small", "base", "large"], [1], ["float32"], args.seconds)
        table(rows, ["model", "dtype", "batch", "input", "frames_per_s", "peak_mib"])
        sam = sam3_throughput(
            "cuda", ["bfloat16", "float32"], args.sam3_frames, ["no objects", "8 objects"]
        )
        table(sam, ["model", "dtype", "load", "objects_per_frame", "frames_per_s", "peak_mib"])
        results["gpu"] = rows + sam
    if "gpu-memory" in parts:
        growth = sam3_memory_growth("cuda", [4, 16, 48, 96])
        table(growth, ["frames", "peak_mib", "allocated_mib", "seconds"])
        results["gpu_memory"] = growth
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if len(parts) > 1 else f"_{parts[0].replace('-', '_')}"
    target = args.out / f"depth_masks{suffix}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
