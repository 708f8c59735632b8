"""Neural depth: Depth Anything V2, aligned per frame to the camera solve.

Two passes keep memory flat with clip length. The first runs the model over chunks of
frames (here one after another, or fanned out over GPU workers), keeps each prediction
(at the model's resolution, float16) and fits that frame's scale and shift against the
solve's points. The fits are solved together over time, and the second pass turns each
prediction into z-depth in the camera's units and yields it. In between, the masks'
motion test runs on that first alignment, and every frame is fitted again without the
solve's points that fall on pixels moving on their own (moving_points.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ingest_service.depth.align import (
    Fit,
    fit_inverse_affine,
    sample,
    smooth,
    to_depth,
    visible_points,
)
from ingest_service.depth.backend import DepthFrame, DepthInputs, DepthSummary
from ingest_service.depth.moving_points import refit_off_moving
from ingest_service.jobs.work_area import clear, get_array, put_array
from ingest_service.models.catalogue import weights_dir
from ingest_service.models.depth_anything import DepthAnything, Preprocess
from ingest_service.models.runtime import pick_runtime
from ingest_service.settings import Settings
from storage import ObjectStore


class Predictions(Protocol):
    def save(self, index: int, disparity: np.ndarray) -> None: ...

    def load(self, index: int) -> np.ndarray: ...

    def clear(self) -> None: ...


class ScratchPredictions:
    """In this process: a scratch folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, index: int, disparity: np.ndarray) -> None:
        np.save(self.folder / f"{index}.npy", disparity.astype(np.float16))

    def load(self, index: int) -> np.ndarray:
        out: np.ndarray = np.load(self.folder / f"{index}.npy").astype(np.float32)
        return out

    def clear(self) -> None:
        for path in self.folder.glob("*.npy"):
            path.unlink()


class BucketPredictions:
    """Across workers: the job's work prefix in the bucket."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def save(self, index: int, disparity: np.ndarray) -> None:
        put_array(self.store, f"{self.prefix}{index:06d}.npy", disparity.astype(np.float16))

    def load(self, index: int) -> np.ndarray:
        return get_array(self.store, f"{self.prefix}{index:06d}.npy").astype(np.float32)

    def clear(self) -> None:
        clear(self.store, self.prefix)


def bucket_predictions(store: ObjectStore, settings: Settings, job_id: str) -> BucketPredictions:
    return BucketPredictions(store, settings.layout.work(job_id) + "depth/")


def load_model(settings: Settings) -> DepthAnything:
    """Loaded once per process (a GPU worker's `@modal.enter` calls this first)."""
    runtime = pick_runtime(settings.model_device)
    return DepthAnything.load(weights_dir(settings.models_dir, settings.depth_model), runtime)


@dataclass(frozen=True)
class ChunkFits:
    device: str
    dtype: str
    fits: list[Fit | None]
    seconds: float  # the worker's time on the chunk: what its GPU is billed for


def predict_chunk(
    inputs: DepthInputs,
    model: DepthAnything,
    start: int,
    end: int,
    batch_size: int,
    predictions: Predictions,
) -> ChunkFits:
    """Frames [start, end): predictions kept, and each frame's fit to the solve."""
    clock = time.perf_counter()
    fits: list[Fit | None] = []
    for first in range(start, end, batch_size):
        indices = list(range(first, min(end, first + batch_size)))
        rgb = [cv2.cvtColor(inputs.bgr(i), cv2.COLOR_BGR2RGB) for i in indices]
        for i, disparity in zip(indices, model.predict(rgb), strict=True):
            predictions.save(i, disparity)
            h, w = disparity.shape
            u, v, z = visible_points(
                inputs.xyz, inputs.solution.frames[i].c2w, inputs.k, inputs.width, inputs.height
            )
            # Image coordinates put pixel centres at +0.5; array indices at 0.
            d = sample(disparity, u * w / inputs.width - 0.5, v * h / inputs.height - 0.5)
            fits.append(fit_inverse_affine(d, z))
            inputs.ctx.progress.advanced()
        inputs.ctx.check()
    return ChunkFits(
        model.runtime.device_name, model.runtime.dtype_name, fits, time.perf_counter() - clock
    )


class NeuralDepth:
    def __init__(self, inputs: DepthInputs, settings: Settings) -> None:
        self.inputs = inputs
        self.settings = settings
        self.fits: list[Fit | None] = []
        self.steps = 3 * len(inputs.files)  # predict, refit off moving pixels, write
        self.moving_share = 0.0
        self.points_on_moving = 0
        self.device = self.dtype = ""
        self.model_seconds = 0.0

    def _first_pass(self) -> Predictions:
        ctx, settings = self.inputs.ctx, self.settings
        count = len(self.inputs.files)
        size = settings.model_chunk_frames
        ranges = [(s, min(count, s + size)) for s in range(0, count, size)]
        if ctx.fanout is None:
            model = load_model(settings)  # before any frame is read: a missing model fails fast
            predictions: Predictions = ScratchPredictions(ctx.scratch / "depth-predictions")
            chunks = [
                predict_chunk(
                    self.inputs, model, start, end, settings.model_batch_size, predictions
                )
                for start, end in ranges
            ]
        else:
            predictions = bucket_predictions(ctx.store, settings, ctx.job.job_id)
            chunks = ctx.fanout.depth_chunks(ctx.job.job_id, ranges)
            for _ in range(count):
                ctx.progress.advanced()
        self.fits = [fit for chunk in chunks for fit in chunk.fits]
        self.device, self.dtype = chunks[0].device, chunks[0].dtype
        self.model_seconds = sum(chunk.seconds for chunk in chunks)
        return predictions

    def frames(self) -> Iterator[DepthFrame]:
        src = self.inputs
        predictions = self._first_pass()
        tolerance = self.settings.depth_temporal_tolerance
        # Beyond twice the solve's far points is past anything the fit has seen.
        far = 2.0 * src.depth_range[1]
        first = smooth(self.fits, tolerance)
        moving = refit_off_moving(
            src, predictions.load, first, far, self.settings.depth_max_image_size
        )
        self.fits = moving.fits
        self.moving_share = float(np.mean(moving.shares))
        self.points_on_moving = int(np.median(moving.dropped))
        scale, shift = smooth(self.fits, tolerance)
        size = (src.width, src.height)
        for i in range(len(src.files)):
            full = cv2.resize(predictions.load(i), size, interpolation=cv2.INTER_LINEAR)
            depth, valid = to_depth(full, scale[i], shift[i], far=far)
            fit = self.fits[i]
            # Confidence: how well this frame's own fit explained the solve's points
            # (a frame aligned only through its neighbours gets less), and nothing
            # where depth was clamped or the pixel moves on its own.
            quality = 1.0 / (1.0 + 10.0 * fit.residual) if fit else 0.5
            sure = valid & ~moving.moving(i, size)
            yield DepthFrame(
                index=i,
                depth=depth,
                confidence=sure.astype(np.float32) * np.float32(quality),
                filled=float(1.0 - valid.mean()),
                raw=full if self.settings.depth_keep_raw else None,
            )
        predictions.clear()

    def summary(self) -> DepthSummary:
        fitted = [f for f in self.fits if f]
        settings = self.settings
        return DepthSummary(
            backend=f"depth-anything-v2 ({settings.depth_model}, {self.dtype})",
            aligned_to_solve=True,
            gpu_seconds=self.model_seconds if self.device != "cpu" else None,
            parameters={
                "backend": "depth-anything",
                "model": settings.depth_model,
                "device": self.device,
                "dtype": self.dtype,
                "batch_size": settings.model_batch_size,
                "chunk_frames": settings.model_chunk_frames,
                "input_size": list(
                    Preprocess.read(settings.models_dir / settings.depth_model).input_size(
                        self.inputs.height, self.inputs.width
                    )
                ),
                "temporal_tolerance": settings.depth_temporal_tolerance,
                "moving_fraction": round(self.moving_share, 4),
            },
            alignment={
                "method": "robust fit of 1/z = s*d + t to the solve's points per frame, "
                "solved jointly with a frame-to-frame prior",
                "frames_fitted": len(fitted),
                "frames_from_neighbours": len(self.fits) - len(fitted),
                "median_points_on_moving_pixels": self.points_on_moving,
                "median_points": int(np.median([f.points for f in fitted])) if fitted else 0,
                "median_relative_residual": round(float(np.median([f.residual for f in fitted])), 5)
                if fitted
                else None,
            },
        )
