"""What a solve measured about itself, and a verdict an artist can read.

A reprojection error alone hardly flags a wrong focal length (a 10 % error can cost a
tenth of a pixel), so the focal length is tested directly: the solve is re-adjusted with
the focal length held at values around the solved one, and every value whose residual
stays within 5 % of the best is said to fit. A narrow range is a focal length the plate
pins down; a wide one is a guess, and the verdict says so in numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pycolmap

from ingest_service.camera.observations import Observations
from ingest_service.camera.rotation_only import rotation_between
from ingest_service.camera.solution import SolveEvidence, SolveKind
from ingest_service.camera.tracking import Tracks
from ingest_service.camera.two_view import PairEvidence, transfer_error

FOCAL_FIT = 0.05  # residual increase that still counts as fitting
FOCAL_GRID = (0.6, 0.75, 0.87, 0.95, 1.0, 1.05, 1.15, 1.33, 1.67)
PROFILE_IMAGES = 16  # images the focal profile adjusts (evenly spaced)
# Verdict thresholds, in pixels of the published frames where they are distances.
WEAK_FOCAL = 0.25  # fitting range wider than this share of the focal length
HINT_DISAGREES = 0.1  # measured focal length this far from the sidecar's lens
LOW_PARALLAX_DEG = 1.0
HIGH_ERROR_P90_PX = 1.5
FEW_TRACKS = 100
MOST_FRAMES = 0.95  # of frames that must be solved rather than interpolated


@dataclass
class Measured:
    """Evidence at solve resolution, before the stage scales it to the published frames."""

    parallax_deg: float | None = None
    focal_range_px: tuple[float, float] | None = None
    tracks_per_frame: float | None = None
    track_length_frames: float | None = None
    reprojection_px: tuple[float, float, float] | None = None  # p50, p90, p99
    unexplained_motion_share: float | None = None


def measure_reconstruction(
    rec: pycolmap.Reconstruction,
    *,
    fixed_focal: bool,
    threads: int,
    observations: Observations | None = None,
) -> Measured:
    """Parallax, reprojection error, track statistics and (unless the focal length was
    held fixed) the range of focal lengths that fit."""
    seen = observations if observations is not None else Observations.of(rec)
    errors = seen.errors(rec)
    finite = errors[np.isfinite(errors)]
    lengths = [p.track.length() for p in rec.points3D.values()]
    per_image = [img.num_points3D for img in rec.images.values() if img.has_pose]
    return Measured(
        parallax_deg=_parallax_deg(rec),
        focal_range_px=None if fixed_focal else _focal_range_ba(rec, seen, threads),
        tracks_per_frame=float(np.median(per_image)) if per_image else None,
        track_length_frames=float(np.median(lengths)) if lengths else None,
        reprojection_px=(
            tuple(float(v) for v in np.percentile(finite, [50, 90, 99]))  # type: ignore[arg-type]
            if len(finite)
            else None
        ),
    )


def _parallax_deg(rec: pycolmap.Reconstruction) -> float | None:
    """Median over points of the angle between the rays of its first and last view."""
    centres = {i: img.projection_center() for i, img in rec.images.items() if img.has_pose}
    angles = []
    for point in rec.points3D.values():
        ids = sorted(e.image_id for e in point.track.elements)
        a = centres[ids[0]] - point.xyz
        b = centres[ids[-1]] - point.xyz
        cos = a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
        angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return float(np.median(angles)) if angles else None


def _focal_range_ba(
    rec: pycolmap.Reconstruction, seen: Observations, threads: int
) -> tuple[float, float] | None:
    registered = sorted(i for i, img in rec.images.items() if img.has_pose)
    if len(registered) < 3:
        return None
    step = max(1, len(registered) // PROFILE_IMAGES)
    chosen = registered[::step]
    profiled = seen.where(np.isin(seen.image_ids, chosen))
    solved = float(rec.cameras[1].params[0])
    costs = []
    for factor in FOCAL_GRID:
        trial = pycolmap.Reconstruction(rec)
        camera = trial.cameras[1]
        camera.params = [solved * factor, *list(camera.params)[1:]]
        config = pycolmap.BundleAdjustmentConfig()
        for image_id in chosen:
            config.add_image(image_id)
        config.set_constant_cam_intrinsics(1)
        config.fix_gauge(pycolmap.BundleAdjustmentGauge.TWO_CAMS_FROM_WORLD)
        options = pycolmap.BundleAdjustmentOptions()
        options.print_summary = False
        options.ceres.solver_options.num_threads = threads
        options.ceres.solver_options.max_num_iterations = 25
        options.ceres.solver_options.function_tolerance = 1e-6
        pycolmap.create_default_bundle_adjuster(options, config, trial).solve()
        errors = profiled.errors(trial)
        errors = errors[np.isfinite(errors)]
        costs.append(float(np.sqrt(np.mean(errors**2))) if len(errors) else np.inf)
    return fitting_range([solved * f for f in FOCAL_GRID], costs)


def focal_range_rotation(
    tracks: Tracks, pairs: list[PairEvidence], focal: float
) -> tuple[float, float] | None:
    """The same test for a rotation: how well rotations at each focal length explain the
    tracks between keyframes."""
    width, height = tracks.width, tracks.height
    focals = [focal * f for f in FOCAL_GRID]
    costs = []
    for f in focals:
        k = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
        errors = []
        for pair in pairs:
            _, p1, p2 = tracks.common(pair.first, pair.second)
            rotation = rotation_between(p1, p2, k)
            if rotation is not None:
                errors.append(transfer_error(k @ rotation @ np.linalg.inv(k), p1, p2))
        joined = np.concatenate(errors) if errors else np.zeros(0)
        joined = joined[np.isfinite(joined)]
        costs.append(float(np.sqrt(np.mean(joined**2))) if len(joined) else np.inf)
    return fitting_range(focals, costs)


def fitting_range(focals: list[float], costs: list[float]) -> tuple[float, float] | None:
    """The span of focal lengths whose cost is within FOCAL_FIT of the best, clamped to the
    grid (a range at its edge is open-ended). Between grid points the squared cost is taken
    as quadratic about the best focal length, as a least-squares cost is near its minimum:
    a straight line between a coarse grid's points would draw the range too narrow."""
    cost = np.asarray(costs)
    if not np.isfinite(cost).any():
        return None
    limit = (1 + FOCAL_FIT) * float(np.nanmin(cost))
    best = int(np.nanargmin(cost))
    lo_i = best
    while lo_i > 0 and cost[lo_i - 1] <= limit:
        lo_i -= 1
    hi_i = best
    while hi_i < len(cost) - 1 and cost[hi_i + 1] <= limit:
        hi_i += 1
    lo, hi = focals[lo_i], focals[hi_i]
    centre, floor = focals[best], float(cost[best])
    if lo_i > 0:
        lo = _cross(focals[lo_i - 1], focals[lo_i], float(cost[lo_i - 1]), centre, floor, limit)
    if hi_i < len(cost) - 1:
        hi = _cross(focals[hi_i + 1], focals[hi_i], float(cost[hi_i + 1]), centre, floor, limit)
    return (float(lo), float(hi))


def _cross(
    outside: float, inside: float, c_out: float, centre: float, floor: float, limit: float
) -> float:
    """Where cost² = floor² + k (f - centre)², fitted through the outside point, reaches
    limit; never past the outside point nor short of the inside one."""
    if not np.isfinite(c_out) or c_out <= floor:
        return inside
    reach = abs(outside - centre) * np.sqrt((limit**2 - floor**2) / (c_out**2 - floor**2))
    crossing = centre + np.sign(outside - centre) * reach
    return float(np.clip(crossing, min(inside, outside), max(inside, outside)))


def verdict(kind: SolveKind, evidence: SolveEvidence) -> list[str]:
    """Reasons an artist should check the solve before using it; empty when there are none."""
    reasons = []
    f = evidence.focal_length_px
    if evidence.fallback_reason:
        reasons.append(
            f"solved from features on every frame because point tracking failed "
            f"({evidence.fallback_reason})"
        )
    if kind is SolveKind.STATIC and evidence.focal_source == "assumed":
        reasons.append(
            f"locked-off camera: the focal length ({f:.0f} px) is assumed, not measured; "
            "give focal_length_mm and sensor_width_mm in a sidecar if the lens is known"
        )
    span = evidence.focal_range_px
    if span is not None and (span[1] - span[0]) > WEAK_FOCAL * f:
        reasons.append(
            f"focal length weakly constrained: {f:.0f} px, anything from {span[0]:.0f} "
            f"to {span[1]:.0f} px fits"
        )
    hint = evidence.focal_hint_px
    if hint and evidence.focal_source != "hint" and abs(f / hint - 1) > HINT_DISAGREES:
        reasons.append(
            f"the focal length measured ({f:.0f} px) is {100 * (f / hint - 1):+.0f} % from "
            f"the sidecar's lens ({hint:.0f} px): check focal_length_mm and sensor_width_mm"
        )
    full = kind in (SolveKind.FULL, SolveKind.SMALL_TRANSLATION)
    if full and evidence.parallax_deg is not None and evidence.parallax_deg < LOW_PARALLAX_DEG:
        reasons.append(
            f"little parallax (median triangulation angle {evidence.parallax_deg:.2f}°): "
            "camera distances and depth are uncertain"
        )
    errors = evidence.reprojection_error_px
    if errors is not None and errors["p90"] > HIGH_ERROR_P90_PX:
        reasons.append(
            f"high reprojection error: 90 % of points within {errors['p90']:.1f} px "
            f"(median {errors['p50']:.2f} px)"
        )
    if evidence.tracks_per_frame is not None and evidence.tracks_per_frame < FEW_TRACKS:
        reasons.append(f"few points per frame (median {evidence.tracks_per_frame:.0f})")
    if evidence.interpolated_share > 1 - MOST_FRAMES:
        reasons.append(
            f"{evidence.interpolated_frames} frames "
            f"({100 * evidence.interpolated_share:.0f} %) could not be solved and are "
            "interpolated between their neighbours"
        )
    return reasons
