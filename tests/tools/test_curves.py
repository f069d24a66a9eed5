"""Load curves: capacity under SLOs with interpolation, latency at a rate, and misses."""

from __future__ import annotations

import pytest

from kb.domain import SLOTargets
from tests.tools.conftest import linear_curve
from tools.curves import Capacity, Miss, capacity_under_slo, latency_at


def slo(ttft: float = 150, itl: float = 25, e2e: float = 70_000) -> SLOTargets:
    return SLOTargets(ttft_p95_ms=ttft, itl_p95_ms=itl, e2e_p95_ms=e2e)


def test_capacity_interpolates_between_the_bracketing_points() -> None:
    curve = linear_curve(ttft0=40, itl0=10, rps_per_conc=0.5)  # ITL: 10, 12, 14.4, 17.28, 20.7, 24.9, 29.9
    result = capacity_under_slo(curve, slo(ttft=10_000, itl=27.4))
    assert isinstance(result, Capacity) and result.binding == "itl"
    # between conc 32 (16 rps, 24.88 ms) and 64 (32 rps, 29.86 ms): halfway in ITL is halfway in rate
    assert result.max_rps == pytest.approx(16 + 16 * (27.4 - 24.8832) / (29.85984 - 24.8832), rel=1e-6)


def test_capacity_is_the_whole_curve_when_nothing_binds() -> None:
    result = capacity_under_slo(linear_curve(), slo(ttft=1e6, itl=1e6, e2e=1e9))
    assert result == Capacity(max_rps=32.0, binding="throughput")


def test_a_curve_missing_at_its_lightest_load_reports_the_worst_metric() -> None:
    result = capacity_under_slo(linear_curve(ttft0=200, itl0=10), slo(ttft=150))
    assert result == Miss(metric="ttft", predicted_ms=200, target_ms=150)


def test_latency_below_the_lightest_point_is_that_point() -> None:
    assert latency_at(linear_curve(), 0.01)[0] == pytest.approx(40)


def test_latency_between_points_is_interpolated() -> None:
    ttft, _, _ = latency_at(linear_curve(ttft0=40, rps_per_conc=0.5), 0.75)  # between 0.5 rps (40) and 1.0 (52)
    assert ttft == pytest.approx(46)
