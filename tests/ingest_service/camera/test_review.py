"""The verdict on a solve: how the focal range is read from a residual profile, and the
reasons an artist is given."""

from __future__ import annotations

import numpy as np
import pytest

from ingest_service.camera.review import fitting_range, verdict
from ingest_service.camera.solution import SolveEvidence, SolveKind


def _evidence(**overrides: object) -> SolveEvidence:
    fields: dict[str, object] = {
        "frontend": "tracks",
        "parallax_deg": 4.0,
        "focal_length_px": 1000.0,
        "focal_source": "solved",
        "focal_range_px": (980.0, 1020.0),
        "tracks_per_frame": 900.0,
        "track_length_frames": 30.0,
        "reprojection_error_px": {"p50": 0.2, "p90": 0.4, "p99": 0.8},
        "interpolated_frames": 0,
        "interpolated_share": 0.0,
    }
    return SolveEvidence.model_validate(fields | overrides)


def test_the_fitting_range_follows_a_quadratic_cost_between_grid_points() -> None:
    # cost² = 1 + (f - 1000)² / 100²: 5 % more than the best is reached 32 px either side.
    focals = [800.0, 900.0, 1000.0, 1100.0, 1200.0]
    costs = [float(np.sqrt(1 + ((f - 1000) / 100) ** 2)) for f in focals]
    reach = 100 * np.sqrt(1.05**2 - 1)
    assert fitting_range(focals, costs) == pytest.approx((1000 - reach, 1000 + reach))


def test_a_flat_profile_fits_the_whole_grid() -> None:
    assert fitting_range([500.0, 1000.0, 2000.0], [1.0, 1.0, 1.01]) == (500.0, 2000.0)


def test_a_well_measured_solve_has_nothing_to_report() -> None:
    assert verdict(SolveKind.FULL, _evidence()) == []


def test_a_weak_focal_length_is_reported_with_its_range() -> None:
    reasons = verdict(SolveKind.FULL, _evidence(focal_range_px=(1100.0, 2600.0)))
    assert reasons == [
        "focal length weakly constrained: 1000 px, anything from 1100 to 2600 px fits"
    ]


def test_every_problem_is_named() -> None:
    reasons = verdict(
        SolveKind.FULL,
        _evidence(
            fallback_reason="tracks were lost at frame 12 (a cut or a flash)",
            parallax_deg=0.3,
            reprojection_error_px={"p50": 0.9, "p90": 2.5, "p99": 6.0},
            tracks_per_frame=40.0,
            interpolated_frames=12,
            interpolated_share=0.1,
        ),
    )
    assert len(reasons) == 5
    assert "point tracking failed (tracks were lost at frame 12" in reasons[0]
    assert "little parallax (median triangulation angle 0.30°)" in reasons[1]
    assert "90 % of points within 2.5 px" in reasons[2]
    assert "few points per frame (median 40)" in reasons[3]
    assert "12 frames (10 %) could not be solved" in reasons[4]


def test_a_locked_off_shot_says_its_focal_length_is_assumed() -> None:
    evidence = _evidence(focal_source="assumed", focal_range_px=None, parallax_deg=None)
    (reason,) = verdict(SolveKind.STATIC, evidence)
    assert reason.startswith("locked-off camera: the focal length (1000 px) is assumed")
    assert verdict(SolveKind.STATIC, _evidence(focal_source="hint", focal_range_px=None)) == []


def test_a_measured_focal_length_far_from_the_sidecars_lens_is_reported() -> None:
    (reason,) = verdict(SolveKind.FULL, _evidence(focal_hint_px=1250.0))
    assert reason == (
        "the focal length measured (1000 px) is -20 % from the sidecar's lens (1250 px): "
        "check focal_length_mm and sensor_width_mm"
    )
    assert verdict(SolveKind.FULL, _evidence(focal_hint_px=1050.0)) == []
