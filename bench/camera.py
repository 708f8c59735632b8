"""Camera solve: our video-tuned pipeline against pycolmap run with its defaults.

Renders plates with a known camera (dolly, orbit, handheld; 96 frames at 960x540 by
default), then solves each twice on the same frames: ours (`ingest_service.camera.solve`)
and a baseline of pycolmap defaults (SIFT at full resolution, default sequential matching,
default incremental mapper). Prints time per sub-step, frames registered, rotation error,
camera-centre error (% of path length) and focal error; writes bench/results/camera.json.

    python bench/camera.py [--frames 96] [--size 960x540] [--motions dolly,orbit,handheld]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pycolmap

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest_service.camera.solve import SolveSettings, solve
from ingest_service.sample_scene import Scene, motion
from tests.camera_eval import score


def baseline(images: Path, work: Path) -> tuple[dict[int, np.ndarray], float, dict[str, float]]:
    db = work / "baseline.db"
    timings: dict[str, float] = {}
    t = time.perf_counter()
    pycolmap.extract_features(db, images, camera_mode=pycolmap.CameraMode.SINGLE,
                              device=pycolmap.Device.cpu)  # fmt: skip
    timings["features"] = time.perf_counter() - t
    t = time.perf_counter()
    pycolmap.match_sequential(db, device=pycolmap.Device.cpu)
    timings["matching"] = time.perf_counter() - t
    t = time.perf_counter()
    out = work / "baseline_sparse"
    out.mkdir()
    models = pycolmap.incremental_mapping(db, images, out)
    timings["mapping"] = time.perf_counter() - t
    if not models:
        return {}, float("nan"), timings
    best = max(models.values(), key=lambda m: m.num_reg_images())
    cams = {}
    for image in best.images.values():
        w2c = np.eye(4)
        w2c[:3, :] = image.cam_from_world().matrix()
        cams[int(image.name.split(".")[1]) - 1] = np.linalg.inv(w2c)
    return cams, float(next(iter(best.cameras.values())).params[0]), timings


def evaluate(
    cams: dict[int, np.ndarray], truth: list[np.ndarray], focal: float, f: float
) -> dict[str, Any]:
    idx = sorted(cams)
    if len(idx) < 3:
        return {"registered": len(idx)}
    s = score([cams[i] for i in idx], [truth[i] for i in idx])
    return {"registered": len(idx), "rotation_error_deg": round(s.rotation_error_deg, 4),
            "centre_error_pct_path": round(s.centre_error_pct, 4),
            "focal_error_pct": round(100 * (focal - f) / f, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--motions", default="dolly,orbit,handheld")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "camera.json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    f = 0.78 * width
    scene = Scene()
    rows = []
    for kind in args.motions.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-camera-") as tmp:
            work = Path(tmp)
            images = work / "images"
            images.mkdir()
            truth = motion(kind, args.frames)
            names = []
            for i, c2w in enumerate(truth):
                names.append(f"frame.{i + 1:04d}.png")
                cv2.imwrite(str(images / names[-1]), scene.render(c2w, f, width, height)[..., ::-1])
            t = time.perf_counter()
            settings = SolveSettings(threads=os.cpu_count() or 1)
            ours = solve(images, names, width, height, focal_hint_px=None, settings=settings,
                         scratch=work)  # fmt: skip
            ours_s = time.perf_counter() - t
            ours_row = evaluate(ours.cameras, truth, ours.params[0], f)
            shutil.rmtree(work / "sparse", ignore_errors=True)
            t = time.perf_counter()
            base_cams, base_f, base_t = baseline(images, work)
            base_s = time.perf_counter() - t
            rows.append({
                "motion": kind, "frames": args.frames, "size": args.size,
                "ours": {"seconds": round(ours_s, 1), "kind": ours.kind.value,
                         "timings_s": ours.timings, **ours_row},
                "baseline": {"seconds": round(base_s, 1),
                             "timings_s": {k: round(v, 1) for k, v in base_t.items()},
                             **evaluate(base_cams, truth, base_f, f)},
                "time_ratio": round(ours_s / base_s, 3),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'motion':<10}{'solver':<10}{'seconds':>8}{'feat':>7}{'match':>7}{'map':>7}"
          f"{'reg':>6}{'rot°':>8}{'centre%':>9}{'focal%':>8}")  # fmt: skip
    for r in rows:
        for who in ("ours", "baseline"):
            d = r[who]
            t = d["timings_s"]
            print(f"{r['motion']:<10}{who:<10}{d['seconds']:>8.1f}{t.get('features', 0):>7.1f}"
                  f"{t.get('matching', 0):>7.1f}{t.get('mapping', 0):>7.1f}{d['registered']:>6}"
                  f"{d.get('rotation_error_deg', float('nan')):>8.3f}"
                  f"{d.get('centre_error_pct_path', float('nan')):>9.3f}"
                  f"{d.get('focal_error_pct', float('nan')):>8.2f}")  # fmt: skip
        print(f"{'':<10}ratio ours/baseline: {r['time_ratio']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"baseline": "pycolmap defaults: SIFT at full resolution, "
                                    "default sequential matching, default incremental mapper",
                                    "rows": rows}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
