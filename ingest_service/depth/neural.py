"""Neural depth: Depth Anything V2, aligned per frame to the camera solve.

Two passes keep memory flat with clip length. The first runs the model over batches of
frames, keeps each prediction (at the model's resolution, float16) in scratch and fits
that frame's scale and shift against the solve's points. The fits are then smoothed
over time, and the second pass turns each prediction into z-depth in the camera's
units and yields it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
from ingest_service.models.catalogue import weights_dir
from ingest_service.models.depth_anything import DepthAnything
from ingest_service.models.runtime import Runtime, pick_runtime


class NeuralDepth:
    def __init__(
        self,
        inputs: DepthInputs,
        *,
        models_dir: Path,
        model_name: str,
        device: str,
        batch_size: int,
        temporal_tolerance: float,
        keep_raw: bool,
    ) -> None:
        self.inputs = inputs
        self.model_name = model_name
        self.batch_size = batch_size
        self.temporal_tolerance = temporal_tolerance
        self.keep_raw = keep_raw
        self.runtime: Runtime = pick_runtime(device)  # type: ignore[arg-type]
        self.model = DepthAnything.load(weights_dir(models_dir, model_name), self.runtime)
        self.fits: list[Fit | None] = []
        self.steps = 2 * len(inputs.files)

    def _predict_all(self, folder: Path) -> None:
        """Pass one: predictions to scratch, and a fit per frame."""
        src = self.inputs
        count = len(src.files)
        for start in range(0, count, self.batch_size):
            indices = list(range(start, min(count, start + self.batch_size)))
            rgb = [cv2.cvtColor(src.bgr(i), cv2.COLOR_BGR2RGB) for i in indices]
            predicted = self.model.predict(rgb)
            for i, disparity in zip(indices, predicted, strict=True):
                np.save(folder / f"{i}.npy", disparity.astype(np.float16))
                h, w = disparity.shape
                u, v, z = visible_points(
                    src.xyz, src.solution.frames[i].c2w, src.k, src.width, src.height
                )
                # Image coordinates put pixel centres at +0.5; array indices at 0.
                d = sample(disparity, u * w / src.width - 0.5, v * h / src.height - 0.5)
                self.fits.append(fit_inverse_affine(d, z))
                src.ctx.progress.advanced()
            src.ctx.check()

    def frames(self) -> Iterator[DepthFrame]:
        src = self.inputs
        folder = src.ctx.scratch / "depth-predictions"
        folder.mkdir(parents=True, exist_ok=True)
        self._predict_all(folder)
        scale, shift = smooth(self.fits, self.temporal_tolerance)
        # Beyond twice the solve's far points is past anything the fit has seen.
        far = 2.0 * src.depth_range()[1]
        size = (src.width, src.height)
        for i in range(len(src.files)):
            path = folder / f"{i}.npy"
            disparity = np.load(path).astype(np.float32)
            path.unlink()
            full = cv2.resize(disparity, size, interpolation=cv2.INTER_LINEAR)
            depth, valid = to_depth(full, scale[i], shift[i], far=far)
            fit = self.fits[i]
            # Confidence: how well this frame's own fit explained the solve's points
            # (a neighbour's fit counts for less), and nothing where depth was clamped.
            quality = 1.0 / (1.0 + 10.0 * fit.residual) if fit else 0.5
            confidence = valid.astype(np.float32) * np.float32(quality)
            yield DepthFrame(
                index=i,
                depth=depth,
                confidence=confidence,
                filled=float(1.0 - valid.mean()),
                raw=full if self.keep_raw else None,
            )

    def summary(self) -> DepthSummary:
        fitted = [f for f in self.fits if f]
        return DepthSummary(
            backend=f"depth-anything-v2 ({self.model_name}, {self.runtime.dtype_name})",
            aligned_to_solve=True,
            parameters={
                "backend": "depth-anything",
                "model": self.model_name,
                "device": self.runtime.device_name,
                "dtype": self.runtime.dtype_name,
                "batch_size": self.batch_size,
                "input_size": list(
                    self.model.preprocess.input_size(self.inputs.height, self.inputs.width)
                ),
                "temporal_tolerance": self.temporal_tolerance,
            },
            alignment={
                "method": "robust fit of 1/z = s*d + t to the solve's points per frame, "
                "solved jointly with a frame-to-frame prior",
                "frames_fitted": len(fitted),
                "frames_from_neighbours": len(self.fits) - len(fitted),
                "median_points": int(np.median([f.points for f in fitted])) if fitted else 0,
                "median_relative_residual": round(float(np.median([f.residual for f in fitted])), 5)
                if fitted
                else None,
            },
        )
