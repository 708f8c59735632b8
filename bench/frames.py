"""Frame extraction: our frames stage against `ffmpeg -i plate -f image2 out/%04d.png`.

Generates 1080p H.264 plates (10 s, and 20 s to show memory stays flat as length
doubles), runs the FFmpeg command and our stage each in a child process, and prints
wall time, the ratio ours/ffmpeg, peak RSS and output size. Figures go to
bench/results/frames.json.

    python bench/frames.py [--seconds 10] [--repeat 1] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest_service.samples.plate import ffmpeg_exe, make_plate

CHILD = """
import json, sys, time
from pathlib import Path
from ingest_service.run import pipeline
from ingest_service.cli.plates import ref_for_local_file
from ingest_service.services import Services
from ingest_service.settings import Settings

plate, bucket, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
settings = Settings(store=str(bucket), workers=workers, notify_log=bucket / "n.jsonl")
services = Services.build(settings)
ref = ref_for_local_file(services.store, plate, key="incoming/" + plate.name)
job = services.ledger.claim(ref, services.job_options(), max_attempts=1).record.job_id
t0 = time.perf_counter()
record = pipeline.run(job, services)
total = time.perf_counter() - t0
assert record.state == "published", record.error
frames = record.stages["frames"]
print(json.dumps({
    "job_s": total,
    "probe_s": record.stages["probe"].duration_s,
    "frames_s": frames.duration_s,
    "frames": frames.result.sequence.count,
    "bytes": sum(f.size for f in frames.result.files),
}))
"""


def timed(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stdout, measured with os.wait4 on that child alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]} failed: {err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss, out.read().decode()


def bench_plate(plate: Path, workers: int, scratch: Path) -> dict[str, object]:
    ff_out = scratch / "ffmpeg"
    ff_out.mkdir()
    ff_wall, ff_rss, _ = timed(
        [ffmpeg_exe(), "-v", "error", "-i", str(plate), "-f", "image2", f"{ff_out}/%04d.png"]
    )
    ff_bytes = sum(p.stat().st_size for p in ff_out.iterdir())
    ff_frames = len(list(ff_out.iterdir()))
    shutil.rmtree(ff_out)

    bucket = scratch / "bucket"
    our_wall, our_rss, out = timed(
        [sys.executable, "-c", CHILD, str(plate), str(bucket), str(workers)]
    )
    ours = json.loads(out)
    shutil.rmtree(bucket)
    return {
        "plate": plate.name,
        "frames": ours["frames"],
        "ffmpeg_frames": ff_frames,
        "ffmpeg_s": round(ff_wall, 3),
        "ffmpeg_peak_rss_mib": round(ff_rss / 1024, 1),
        "ffmpeg_bytes": ff_bytes,
        "frames_stage_s": round(ours["frames_s"], 3),
        "job_s": round(ours["job_s"], 3),
        "process_s": round(our_wall, 3),
        "ours_peak_rss_mib": round(our_rss / 1024, 1),
        "ours_bytes": ours["bytes"],
        "ratio_frames_stage": round(ours["frames_s"] / ff_wall, 3),
        "ratio_whole_process": round(our_wall / ff_wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "frames.json")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-frames-") as tmp:
        scratch = Path(tmp)
        for seconds in (args.seconds, args.seconds * 2):
            plate = make_plate(
                scratch / f"plate_1080p_{seconds:g}s.mp4",
                seconds=seconds,
                width=1920,
                height=1080,
                fps="24",
            )
            for _ in range(args.repeat):
                work = scratch / "work"
                work.mkdir()
                rows.append({"seconds": seconds, **bench_plate(plate, args.workers, work)})
                shutil.rmtree(work)

    header = (
        f"{'plate':<24}{'frames':>7}{'ffmpeg s':>10}{'ours s':>9}{'ratio':>7}"
        f"{'job s':>8}{'ffmpeg RSS':>12}{'ours RSS':>10}{'MB ffmpeg':>11}{'MB ours':>9}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['plate']:<24}{r['frames']:>7}{r['ffmpeg_s']:>10.2f}{r['frames_stage_s']:>9.2f}"
            f"{r['ratio_frames_stage']:>7.2f}{r['job_s']:>8.2f}{r['ffmpeg_peak_rss_mib']:>11.0f}M"
            f"{r['ours_peak_rss_mib']:>9.0f}M{r['ffmpeg_bytes'] / 1e6:>11.0f}"
            f"{r['ours_bytes'] / 1e6:>9.0f}"
        )
    short, long = rows[0], rows[-1]
    summary = {
        "baseline": "ffmpeg -i plate -f image2 out/%04d.png (imageio-ffmpeg's binary)",
        "ratio": "frames stage wall time / ffmpeg wall time (lower is faster)",
        "rss_growth_when_length_doubles": round(
            float(long["ours_peak_rss_mib"]) / float(short["ours_peak_rss_mib"]), 3
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "workers": args.workers,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"peak RSS x{summary['rss_growth_when_length_doubles']} when the plate doubles; "
        f"figures in {args.out}"
    )


if __name__ == "__main__":
    main()
