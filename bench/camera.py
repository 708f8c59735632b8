"""Camera solve: ours against two pycolmap baselines on the named benchmark plates.

Every plate of `ingest_service.samples.scene.PLATES` (dolly, orbit, handheld, walk, long and
wide lenses, pan with a little travel, locked-off, a close mover) is rendered with its true
cameras and lens, encoded to H.264 like a real plate and decoded to PNG frames with FFmpeg, so
that all three solvers see the same compressed frames:

1. ours: `ingest_service.camera.solve`, in a child process so its peak RSS is its own;
2. plain pycolmap: SIFT with at most 4096 features at full resolution, sequential matching
   (overlap 10, quadratic overlap), the incremental mapper, one SIMPLE_PINHOLE camera;
3. pycolmap defaults: `extract_features`, `match_sequential` and `incremental_mapping` with
   their default options (one SIMPLE_RADIAL camera, SIFT up to 8192 features at 3200 px).

For each: wall seconds and seconds per step, frames registered, the solve's kind, rotation
error (mean, degrees) and camera-centre error (% of the true path) after a Sim(3) fit, focal
error (%) and, on distorted plates, the distortion-map error (px RMS over the frame; see
`tests/camera_eval.distortion_map_error_px`). Prints a table per plate with the time ratios
ours/plain and ours/defaults; writes bench/results/camera.json.

    OMP_NUM_THREADS=1 python bench/camera.py [--plates dolly,orbit,...] [--size 960x540]
        [--frames N] [--threads 2] [--ours-only] [--out bench/results/camera.json]

All ten plates at 960x540 take hours on a small machine, nearly all of it in the baselines:
`--frames 48` shortens every plate (the same move in fewer, further-apart frames) for the
time ratios, and `--ours-only` measures our accuracy on the full-length plates alone. A quick
end-to-end check is `--plates dolly --frames 24 --size 480x270`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pycolmap

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest_service.camera.lens import Lens
from ingest_service.camera.outcome import cameras_by_frame
from ingest_service.camera.solve import SolveSettings, solve
from ingest_service.errors import CameraSolveError
from ingest_service.samples.plate import ffmpeg_exe
from ingest_service.samples.scene import PLATES, PlateSpec, PlateTruth, render_plate_spec
from tests.camera_eval import distortion_map_error_px, score

SOLVERS = {
    "ours": "ours: ingest_service.camera.solve (SolveSettings(threads=--threads), no focal hint)",
    "plain": "plain pycolmap: SIFT with at most 4096 features at full resolution, sequential "
    "matching (overlap 10, quadratic overlap), incremental mapper, one SIMPLE_PINHOLE camera",
    "defaults": "pycolmap defaults: extract_features, match_sequential and incremental_mapping "
    "with default options (one camera for all frames)",
}


@dataclasses.dataclass
class SolverRun:
    """What one solver made of one plate (cameras: frame index -> OpenCV camera-to-world)."""

    seconds: float
    timings_s: dict[str, float]
    cameras: dict[int, np.ndarray]
    model: str = ""
    params: list[float] = dataclasses.field(default_factory=list)
    kind: str = ""
    review: Any = None
    peak_rss_mib: float | None = None
    error: str | None = None


@dataclasses.dataclass
class Metrics:
    registered: int
    rotation_error_deg: float | None = None
    centre_error_pct_path: float | None = None
    focal_error_pct: float | None = None
    distortion_map_error_px: float | None = None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return None if value is None else str(value)


def run_ours(
    images: Path, names: list[str], width: int, height: int, threads: int, scratch: Path
) -> SolverRun:
    """Runs in a fresh child process: ru_maxrss is then the solve's own peak."""
    start = time.perf_counter()
    try:
        outcome = solve(
            images,
            names,
            width,
            height,
            focal_hint_px=None,
            settings=SolveSettings(threads=threads),
            scratch=scratch,
        )
    except CameraSolveError as exc:
        return SolverRun(time.perf_counter() - start, {}, {}, error=str(exc))
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return SolverRun(
        seconds,
        dict(outcome.timings),
        dict(outcome.cameras),
        outcome.model,
        [float(v) for v in outcome.params],
        str(outcome.kind),
        _jsonable(getattr(outcome, "review", None)),
        peak_mib,
    )


def run_pycolmap(
    images: Path, names: list[str], work: Path, *, plain: bool, long_side: int, threads: int
) -> SolverRun:
    """The plain configuration, or (plain=False) pycolmap's defaults throughout."""
    work.mkdir()
    db, out = work / "database.db", work / "sparse"
    out.mkdir()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if plain:
        reader = pycolmap.ImageReaderOptions()
        reader.camera_model = "SIMPLE_PINHOLE"
        extraction = pycolmap.FeatureExtractionOptions()
        extraction.sift.max_num_features = 4096
        extraction.max_image_size = long_side
        extraction.num_threads = threads
        matching = pycolmap.FeatureMatchingOptions()
        matching.num_threads = threads
        pairing = pycolmap.SequentialPairingOptions(overlap=10, quadratic_overlap=True)
        mapper = pycolmap.IncrementalPipelineOptions()
        mapper.num_threads = threads
        pycolmap.extract_features(
            db,
            images,
            names,
            camera_mode=pycolmap.CameraMode.SINGLE,
            reader_options=reader,
            extraction_options=extraction,
            device=pycolmap.Device.cpu,
        )
        timings["features"] = time.perf_counter() - start
        pycolmap.match_sequential(
            db, matching_options=matching, pairing_options=pairing, device=pycolmap.Device.cpu
        )
        timings["matching"] = time.perf_counter() - start - timings["features"]
        models = pycolmap.incremental_mapping(db, images, out, mapper)
    else:
        pycolmap.extract_features(db, images, camera_mode=pycolmap.CameraMode.SINGLE)
        timings["features"] = time.perf_counter() - start
        pycolmap.match_sequential(db)
        timings["matching"] = time.perf_counter() - start - timings["features"]
        models = pycolmap.incremental_mapping(db, images, out)
    seconds = time.perf_counter() - start
    timings["mapping"] = seconds - timings["features"] - timings["matching"]
    if not models:
        return SolverRun(seconds, timings, {}, error="the mapper made no model")
    best = max(models.values(), key=lambda m: m.num_reg_images())
    cameras = cameras_by_frame(best, names)
    camera = next(iter(best.cameras.values()))
    kind = f"{len(models)} models" if len(models) > 1 else "1 model"
    return SolverRun(
        seconds, timings, cameras, camera.model.name, [float(v) for v in camera.params], kind
    )


def estimated_lens(run: SolverRun) -> Lens | None:
    """The solved lens; COLMAP's pixel convention, like the true one."""
    try:
        return Lens.from_colmap(run.model, run.params)
    except ValueError:  # a model Lens does not hold
        return None


def evaluate(run: SolverRun, truth: PlateTruth, width: int, height: int) -> Metrics:
    metrics = Metrics(registered=len(run.cameras))
    frames = sorted(run.cameras)
    if len(frames) >= 3:
        scores = score([run.cameras[i] for i in frames], [truth.cameras[i] for i in frames])
        metrics.rotation_error_deg = round(scores.rotation_error_deg, 4)
        metrics.centre_error_pct_path = round(scores.centre_error_pct, 4)
    lens = estimated_lens(run)
    if lens is not None:
        metrics.focal_error_pct = round(100 * (lens.fx - truth.lens.fx) / truth.lens.fx, 3)
        if truth.lens.distorted:
            error = distortion_map_error_px(truth.lens, lens, width, height)
            metrics.distortion_map_error_px = round(error, 3)
    return metrics


def plate_frames(
    spec: PlateSpec, work: Path, width: int, height: int
) -> tuple[PlateTruth, Path, list[str]]:
    """Render and encode the plate, then decode it to PNGs as every solver's input."""
    plate = work / "plate.mp4"
    truth = render_plate_spec(plate, spec, width, height)
    images = work / "images"
    images.mkdir()
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(plate),
            "-start_number",
            "1",
            str(images / "frame.%04d.png"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    names = sorted(p.name for p in images.glob("frame.*.png"))
    if len(names) != spec.frames:
        raise RuntimeError(f"decoded {len(names)} frames of {spec.frames}")
    return truth, images, names


def bench_plate(
    name: str, spec: PlateSpec, width: int, height: int, threads: int, baselines: bool = True
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-camera-{name}-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        truth, images, names = plate_frames(spec, work, width, height)
        print(
            f"\n{name}: {spec.motion}, {spec.frames} frames at {width}x{height}, "
            f"f {spec.focal(width):.1f} px, k1 {spec.k1}, k2 {spec.k2}, mover {spec.mover}; "
            f"rendered in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        (work / "ours").mkdir()
        # Linux keeps a process's peak RSS across fork and exec, so a child of this process
        # (which holds the rendered plate) would report our peak, not the solve's; children
        # of the fork server start from its small footprint.
        server = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=1, mp_context=server) as child:
            ours = child.submit(
                run_ours, images, names, width, height, threads, work / "ours"
            ).result()
        long_side = max(width, height)
        runs = {"ours": ours}
        for who in ("plain", "defaults") if baselines else ():
            runs[who] = run_pycolmap(
                images,
                names,
                work / who,
                plain=who == "plain",
                long_side=long_side,
                threads=threads,
            )
    row: dict[str, Any] = {"plate": name, **dataclasses.asdict(spec), "size": f"{width}x{height}"}
    for who, run in runs.items():
        metrics = evaluate(run, truth, width, height)
        row[who] = {
            "seconds": round(run.seconds, 2),
            "timings_s": {k: round(v, 2) for k, v in run.timings_s.items()},
            "kind": run.kind,
            "model": run.model,
            "params": [round(v, 6) for v in run.params],
            **dataclasses.asdict(metrics),
            "peak_rss_mib": None if run.peak_rss_mib is None else round(run.peak_rss_mib),
            "error": run.error,
        }
        if who == "ours":
            row[who]["review"] = run.review
    for who in ("plain", "defaults"):
        other = runs[who].seconds if who in runs else None
        row[f"time_ratio_ours_{who}"] = round(ours.seconds / other, 3) if other else None
    print_plate(row)
    return row


def _number(value: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def print_plate(row: dict[str, Any]) -> None:
    print(
        f"{'solver':<10}{'seconds':>8}{'reg':>5}  {'kind':<12}{'rot°':>8}{'centre%':>9}"
        f"{'focal%':>8}{'dist px':>8}{'RSS MiB':>8}  steps (s)"
    )
    for who in (who for who in SOLVERS if who in row):
        d = row[who]
        steps = ", ".join(f"{k} {v:.1f}" for k, v in d["timings_s"].items())
        print(
            f"{who:<10}{d['seconds']:>8.1f}{d['registered']:>5}  {d['kind'] or '-':<12}"
            f"{_number(d['rotation_error_deg'], 8, 3)}"
            f"{_number(d['centre_error_pct_path'], 9, 3)}"
            f"{_number(d['focal_error_pct'], 8, 2)}"
            f"{_number(d['distortion_map_error_px'], 8, 2)}"
            f"{_number(d['peak_rss_mib'], 8, 0)}  {steps}"
        )
        if d["error"]:
            print(f"{'':<10}failed: {d['error']}")
    if row["ours"].get("review") is not None:
        print(f"{'':<10}review: {row['ours']['review']}")
    ratios = [
        f"ours/{who} {row[f'time_ratio_ours_{who}']}" for who in ("plain", "defaults") if who in row
    ]
    if ratios:
        print(f"{'':<10}time ratio: {', '.join(ratios)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--plates", default=",".join(PLATES), help="comma-separated names")
    parser.add_argument("--size", default="960x540", help="WIDTHxHEIGHT (default 960x540)")
    parser.add_argument("--frames", type=int, help="override every plate's frame count")
    parser.add_argument("--threads", type=int, default=2, help="for ours and plain pycolmap")
    parser.add_argument(
        "--ours-only",
        action="store_true",
        help="accuracy of ours alone, without the baselines (no time ratios)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "camera.json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    names = args.plates.split(",")
    unknown = [n for n in names if n not in PLATES]
    if unknown:
        parser.error(f"unknown plates {unknown}; plates: {', '.join(PLATES)}")
    pycolmap.logging.minloglevel = 2  # COLMAP logs every step at INFO
    rows = []
    for name in names:
        spec = PLATES[name]
        if args.frames:
            spec = dataclasses.replace(spec, frames=args.frames)
        rows.append(bench_plate(name, spec, width, height, args.threads, not args.ours_only))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "solvers": SOLVERS,
        "size": args.size,
        "threads": args.threads,
        "pycolmap": pycolmap.__version__,
        "plates": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
