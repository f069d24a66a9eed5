"""The vectorised curve functions agree with the scalar definitions in tools.curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.domain import SLOTargets
from tools.curve_matrix import BINDING_NAMES, CurveMatrix, capacities, latency_at
from tools.curves import Capacity, Miss, capacity_under_slo
from tools.curves import latency_at as scalar_latency_at


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ttft=st.floats(10, 3000), itl=st.floats(1, 200), e2e=st.floats(200, 100_000))
def test_capacities_match_the_scalar_walk(chat_curves: Any, ttft: float, itl: float, e2e: float) -> None:
    slo = SLOTargets(ttft_p95_ms=ttft, itl_p95_ms=itl, e2e_p95_ms=e2e)
    matrix = CurveMatrix.build(chat_curves)
    result = capacities(matrix, slo)
    for row, curve in enumerate(matrix.curves):
        expected = capacity_under_slo(curve, slo)
        if isinstance(expected, Miss):
            assert result.missed[row]
            assert BINDING_NAMES[int(result.miss_metric[row])] == expected.metric
        else:
            assert isinstance(expected, Capacity) and not result.missed[row]
            assert result.max_rps[row] == pytest.approx(expected.max_rps, rel=1e-9)
            assert BINDING_NAMES[int(result.binding[row])] == expected.binding


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=st.floats(0.001, 500))
def test_latency_at_matches_the_scalar_interpolation(chat_curves: Any, rate: float) -> None:
    matrix = CurveMatrix.build(chat_curves)
    rows = np.arange(len(matrix), dtype=np.int64)
    result = latency_at(matrix, rows, np.full(len(matrix), rate))
    for row, curve in enumerate(matrix.curves):
        assert tuple(result[row]) == pytest.approx(scalar_latency_at(curve, rate), rel=1e-9)
