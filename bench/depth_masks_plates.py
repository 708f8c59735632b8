"""Classical depth and masks on the renderer's plates, scored against exact ground truth.

Each plate (a named `PLATES` camera move with a box moving on its own) is rendered over a
clip of consecutive frames, in memory, with its true depth, true moving-object mask and
true cameras; the solve's points are stood in for by back-projected true depth. The
classical backends then run on those frames as the stages run them, so their accuracy
and time are measured without the camera solve's own error or cost (the `classical` part
of depth_masks.py runs the whole pipeline on one plate for that).

Figures per plate:

- AbsRel and delta<1.25 over every pixel after one scale for the clip, and over the
  pixels the depth marks known (confidence above 0: moving pixels are flagged unknown);
  AbsRel on the truly moving pixels and their share of the all-pixel AbsRel;
- mask IoU on frames where the object covers over 0.1 % of the frame, and the share of
  frames without it whose mask is empty;
- CPU seconds per frame of depth and of masks (every thread of the process), and wall
  seconds per frame of both together (what a frame costs on the machine's cores);
- flicker: the mean |change of log depth| from one frame to the next at the same pixel,
  beyond what the true depth changes there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from ingest_service.samples.scene import PLATES, Scene, motion

# First frame of each plate's clip: the moving object is in view, then leaves it.
CLIPS = {
    "dolly": 46,
    "orbit": 42,
    "handheld": 36,
    "long_lens": 28,
    "close_mover": 68,
    "bouncing_ball": 34,
    "turning_box": 36,
}
COLUMNS = [
    "plate",
    "absrel",
    "delta_1_25",
    "absrel_known",
    "delta_known",
    "known",
    "absrel_moving",
    "moving_known",
    "mask_iou",
    "mask_iou_min",
    "empty_ok",
    "depth_s",
    "masks_s",
    "wall_s",
    "flicker",
]
VISIBLE = 0.001  # a frame shows the object when it covers more than this share


@dataclass
class Clip:
    bgr: list[np.ndarray]
    depth: list[np.ndarray]
    moving: list[np.ndarray]
    cameras: list[np.ndarray]
    k: np.ndarray
    xyz: np.ndarray


def render_clip(name: str, width: int, height: int, count: int, cache: Path) -> Clip:
    spec = PLATES[name]
    spec = replace(spec, mover=spec.mover or True)
    first = CLIPS[name]
    path = cache / f"{name}_{width}x{height}_{first}_{count}.npz"
    cams = motion(spec.motion, spec.frames)[first : first + count]
    f = spec.focal(width)
    k = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    if path.exists():
        data = np.load(path)
        bgr, depth, moving = list(data["bgr"]), list(data["depth"]), list(data["moving"])
    else:
        scene = Scene(mover=spec.mover, frames=spec.frames)
        rendered = [scene.render(c, f, width, height, first + i) for i, c in enumerate(cams)]
        bgr = [cv2.cvtColor(r[0], cv2.COLOR_RGB2BGR) for r in rendered]
        depth = [r[1].astype(np.float32) for r in rendered]
        moving = [r[2] for r in rendered]
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, bgr=np.stack(bgr), depth=np.stack(depth), moving=np.stack(moving))
    return Clip(bgr, depth, moving, cams, k, _points(depth, moving, cams, k))


def _points(
    depth: list[np.ndarray], moving: list[np.ndarray], cams: list[np.ndarray], k: np.ndarray
) -> np.ndarray:
    """Static scene points on a sparse grid of every frame, as a solve would have them."""
    out = []
    for z, m, c2w in zip(depth, moving, cams, strict=True):
        v, u = np.mgrid[8 : z.shape[0] : 24, 8 : z.shape[1] : 24]
        keep = np.isfinite(z[v, u]) & ~m[v, u]
        u, v, d = u[keep], v[keep], z[v[keep], u[keep]]
        cam = np.stack([(u - k[0, 2]) / k[0, 0] * d, (v - k[1, 2]) / k[1, 1] * d, d], -1)
        out.append(cam @ c2w[:3, :3].T + c2w[:3, 3])
    return np.concatenate(out)


def inputs_for(clip: Clip) -> Any:
    """What the classical depth backend reads from its inputs, for an in-memory clip."""
    h, w = clip.depth[0].shape
    return SimpleNamespace(
        width=w,
        height=h,
        k=clip.k,
        xyz=clip.xyz,
        files=list(range(len(clip.bgr))),
        solution=SimpleNamespace(frames=[SimpleNamespace(c2w=c) for c in clip.cameras]),
        bgr=lambda i: clip.bgr[i],
    )


def score(
    clip: Clip,
    depths: list[np.ndarray],
    confidences: list[np.ndarray],
    masks: list[np.ndarray],
    seconds: dict[str, float],
) -> dict[str, Any]:
    est = np.stack(depths).astype(np.float64)
    tru = np.stack(clip.depth).astype(np.float64)
    known = np.stack(confidences) > 0
    ok = np.isfinite(tru) & (est > 0)
    est = est * np.median(tru[ok] / est[ok])  # the solve's units are arbitrary
    rel = np.abs(est - tru) / tru
    within = np.maximum(est / tru, tru / est) < 1.25
    mark = ok & known
    change = np.abs(np.log(est[1:] / est[:-1]) - np.log(tru[1:] / tru[:-1]))
    ious, empties, moving_rel = [], [], []
    for mask, truth in zip(masks, clip.moving, strict=True):
        if truth.mean() > VISIBLE:
            ious.append(float((mask & truth).sum() / max((mask | truth).sum(), 1)))
        else:
            empties.append(not mask.any())
    truth_moving = np.stack(clip.moving)
    moving_known = truth_moving & mark
    if moving_known.any():
        moving_rel.append(float(rel[moving_known].mean()))
    count = len(depths)
    return {
        "absrel": round(float(rel[ok].mean()), 4),
        "delta_1_25": round(float(within[ok].mean()), 4),
        "absrel_known": round(float(rel[mark].mean()), 4),
        "delta_known": round(float(within[mark].mean()), 4),
        "known": round(float(mark.mean()), 3),
        "absrel_moving": round(float(rel[truth_moving & ok].mean()), 3)
        if (truth_moving & ok).any()
        else None,
        "absrel_moving_share": round(float(rel[truth_moving & ok].sum() / rel[ok].sum()), 3),
        "moving_known": round(float(moving_known.sum() / max(truth_moving.sum(), 1)), 3),
        "absrel_moving_known": round(moving_rel[0], 3) if moving_rel else None,
        "mask_iou": round(float(np.mean(ious)), 3) if ious else None,
        "mask_iou_min": round(float(np.min(ious)), 3) if ious else None,
        "empty_ok": round(float(np.mean(empties)), 3) if empties else None,
        "frames_with_object": len(ious),
        "depth_s": round(seconds["depth"] / count, 3),
        "masks_s": round(seconds["masks"] / count, 3),
        "wall_s": round((seconds["depth_wall"] + seconds["masks_wall"]) / count, 3),
        "flicker": round(float(np.median(change[np.isfinite(change)])), 4),
    }


def run_clip(clip: Clip, max_image_size: int) -> dict[str, Any]:
    from ingest_service.depth.classical import ClassicalDepth
    from ingest_service.masks.classical import masks_in_memory

    inputs = inputs_for(clip)
    seconds: dict[str, float] = {}
    with _clocks(seconds, "depth"):
        frames = list(ClassicalDepth(inputs, max_image_size).frames())
    depths = [f.depth for f in frames]
    with _clocks(seconds, "masks"):
        masks = masks_in_memory(clip.bgr, depths, clip.k, clip.cameras, max_image_size)
    return score(clip, depths, [f.confidence for f in frames], masks, seconds)


@contextmanager
def _clocks(seconds: dict[str, float], name: str) -> Iterator[None]:
    """CPU seconds of every thread of the process (`name`), and the wall clock's
    (`name_wall`): on 2 cores the wall time is what a frame costs the user."""
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    seconds[name] = time.process_time() - cpu
    seconds[f"{name}_wall"] = time.perf_counter() - wall


def plates(
    names: list[str], width: int, height: int, count: int, max_image_size: int, cache: Path
) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        clip = render_clip(name, width, height, count, cache)
        rows.append({"plate": name, **run_clip(clip, max_image_size)})
        print(rows[-1], flush=True)
    return rows
