"""All load curves of a traffic profile as arrays, so capacity and latency for every configuration take one pass.

The scalar functions in `tools.curves` define the semantics; these vectorised versions must agree with them
(a property test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kb.domain import BenchmarkSource, SLOTargets
from tools.curves import METRICS, CurveKey, LoadCurve

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CurveMatrix:
    """Curves padded to a common length; `length[i]` real points in row i."""

    keys: tuple[CurveKey, ...]
    rps: FloatArray
    latency: FloatArray
    """Shape (curves, points, 3): p95 TTFT, ITL, E2E in ms."""
    length: IntArray
    benchmarked: BoolArray
    confidence: FloatArray
    curves: tuple[LoadCurve, ...]

    @classmethod
    def build(cls, curves: Mapping[CurveKey, LoadCurve]) -> CurveMatrix:
        keys = tuple(curves)
        width = max((len(c.points) for c in curves.values()), default=1)
        n = len(keys)
        rps = np.zeros((n, width))
        latency = np.full((n, width, 3), np.inf)
        length = np.zeros(n, dtype=np.int64)
        for row, key in enumerate(keys):
            points = curves[key].points
            length[row] = len(points)
            for col, p in enumerate(points):
                rps[row, col] = p.rps
                latency[row, col] = (p.ttft_p95, p.itl_p95, p.e2e_p95)
            rps[row, len(points) :] = points[-1].rps
        return cls(
            keys=keys,
            rps=rps,
            latency=latency,
            length=length,
            benchmarked=np.array([curves[k].source is not BenchmarkSource.ESTIMATED for k in keys], dtype=bool),
            confidence=np.array([curves[k].confidence for k in keys]),
            curves=tuple(curves[k] for k in keys),
        )

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class Capacities:
    """Per curve: max rate within the SLOs (0 when missed) and what binds, or which metric misses at lightest load."""

    max_rps: FloatArray
    binding: IntArray
    """0 TTFT, 1 ITL, 2 E2E, 3 throughput (curve ended first)."""
    missed: BoolArray
    miss_metric: IntArray
    miss_value: FloatArray


BINDING_NAMES = (*METRICS, "throughput")


def capacities(matrix: CurveMatrix, slo: SLOTargets) -> Capacities:
    targets = np.array([slo.ttft_p95_ms, slo.itl_p95_ms, slo.e2e_p95_ms])
    n, width = matrix.rps.shape
    valid = np.arange(width)[None, :] < matrix.length[:, None]
    ok = np.all(matrix.latency <= targets, axis=2) & valid
    fail = ~ok & valid
    has_fail = fail.any(axis=1)
    first_fail = np.argmax(fail, axis=1)
    missed = has_fail & (first_fail == 0)
    prefix = np.cumprod(ok, axis=1).astype(bool)
    best = np.where(prefix, matrix.rps, -np.inf).max(axis=1)

    rows = np.arange(n)
    prev_index = np.maximum(first_fail - 1, 0)
    before = matrix.latency[rows, prev_index]
    after = matrix.latency[rows, first_fail]
    span = after - before
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(after > targets, np.where(span > 0, (targets - before) / span, 0.0), np.inf)
    fraction = share.min(axis=1)
    binding = np.where(np.isfinite(fraction) & (fraction < 1.0), share.argmin(axis=1), 3)
    fraction = np.clip(np.where(np.isfinite(fraction), fraction, 1.0), 0.0, 1.0)
    interpolated = matrix.rps[rows, prev_index] + fraction * (
        matrix.rps[rows, first_fail] - matrix.rps[rows, prev_index]
    )
    interior = has_fail & ~missed
    max_rps = np.where(interior, np.maximum(best, interpolated), best)
    binding = np.where(interior, binding, 3)

    first = matrix.latency[:, 0, :]
    miss_metric = np.argmax(first / targets, axis=1)
    return Capacities(
        max_rps=np.where(missed, 0.0, max_rps),
        binding=binding,
        missed=missed,
        miss_metric=miss_metric,
        miss_value=first[rows, miss_metric],
    )


def latency_at(matrix: CurveMatrix, rows: IntArray, rate: FloatArray) -> FloatArray:
    """p95 (TTFT, ITL, E2E) for each selected row at its own request rate; shape (len(rows), 3)."""
    rps = matrix.rps[rows]
    length = matrix.length[rows]
    width = rps.shape[1]
    valid = np.arange(width)[None, :] < length[:, None]
    above = ((rps < rate[:, None]) & valid).sum(axis=1)
    hi = np.minimum(above, length - 1)
    lo = np.maximum(hi - 1, 0)
    r_lo, r_hi = rps[np.arange(len(rows)), lo], rps[np.arange(len(rows)), hi]
    l_lo = matrix.latency[rows, lo]
    l_hi = matrix.latency[rows, hi]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(r_hi > r_lo, (rate - r_lo) / (r_hi - r_lo), 1.0)
    share = np.clip(share, 0.0, 1.0)[:, None]
    result: FloatArray = l_lo + share * (l_hi - l_lo)
    below = above == 0
    result[below] = matrix.latency[rows[below], 0]
    beyond = above >= length
    result[beyond] = matrix.latency[rows[beyond], length[beyond] - 1]
    return result
