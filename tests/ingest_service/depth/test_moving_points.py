"""The neural alignment leaves out the solve's points on things that move on their own."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from ingest_service.depth.align import fit_inverse_affine, sample, smooth, visible_points
from ingest_service.depth.moving_points import refit_off_moving
from ingest_service.samples.scene import Scene, motion

W, H, F = 240, 135, 190.0
STATIC = 60  # static solve points per frame
MIDDLE = 5  # the frame whose solve points on the box are wrong
WRONG = 2.5  # how much too far the solve put the points it triangulated on the mover


def _back_project(u: np.ndarray, v: np.ndarray, z: np.ndarray, c2w: np.ndarray) -> np.ndarray:
    cam = np.stack([(u + 0.5 - W / 2) / F * z, (v + 0.5 - H / 2) / F * z, z], -1)
    out: np.ndarray = cam @ c2w[:3, :3].T + c2w[:3, 3]
    return out


def _clip() -> tuple[Any, list[np.ndarray], list[np.ndarray]]:
    """A dolly past the rising box whose solve has a few static points and, in the middle
    frame, as many on the box, put too far (as a track that followed it would triangulate
    them)."""
    scene, cams = Scene(mover=True), motion("dolly", 48)[4:14]
    rendered = [scene.render(c, F, W, H, 4 + i) for i, c in enumerate(cams)]
    rng = np.random.default_rng(4)
    points = []
    for r, c2w in zip(rendered, cams, strict=True):
        v, u = np.nonzero(~r.moving & np.isfinite(r.depth))
        pick = rng.choice(len(u), STATIC, replace=False)
        points.append(_back_project(u[pick], v[pick], r.depth[v[pick], u[pick]], c2w))
    r = rendered[MIDDLE]
    v, u = np.nonzero(r.moving[::8, ::8])
    v, u = v * 8 + 4, u * 8 + 4
    points.append(_back_project(u, v, WRONG * r.depth[v, u], cams[MIDDLE]))
    ctx = SimpleNamespace(progress=SimpleNamespace(advanced=lambda: None), check=lambda: None)
    inputs = SimpleNamespace(
        ctx=ctx,
        width=W,
        height=H,
        k=np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1.0]]),
        xyz=np.concatenate(points),
        files=list(range(len(cams))),
        solution=SimpleNamespace(frames=[SimpleNamespace(c2w=c) for c in cams]),
        bgr=lambda i: cv2.cvtColor(rendered[i].image, cv2.COLOR_RGB2BGR),
    )
    # The model's prediction: true inverse depth, the moving box included.
    predicted = [(1.0 / r.depth).astype(np.float32) for r in rendered]
    return inputs, predicted, [r.moving for r in rendered]


def test_points_on_moving_pixels_get_no_weight_in_the_fit() -> None:
    inputs, predicted, moving = _clip()
    count = len(predicted)
    naive = []
    for i in range(count):
        u, v, z = visible_points(inputs.xyz, inputs.solution.frames[i].c2w, inputs.k, W, H)
        naive.append(fit_inverse_affine(sample(predicted[i], u - 0.5, v - 0.5), z))
    first = smooth(naive, 0.01)  # the first alignment, every point counted
    result = refit_off_moving(inputs, predicted.__getitem__, first, far=100.0, max_image_size=480)
    for i in range(count):
        found = result.moving(i, (W, H))
        truth = moving[i]
        if truth.mean() < 0.01:
            continue
        assert (found & truth).sum() / (found | truth).sum() > 0.5
        fit = result.fits[i]
        assert fit is not None
        assert result.dropped[i] > 10  # the points on the box were left out ...
        assert abs(fit.scale - 1.0) < 0.02 and abs(fit.shift) < 0.005  # ... and the fit is true
    # With them, the fit is bent where the box covers the most.
    biggest = int(np.argmax([m.mean() for m in moving]))
    bent = naive[biggest]
    assert bent is None or abs(bent.scale - 1.0) > 0.05 or abs(bent.shift) > 0.01
