"""Load curves: how one replica's p95 latencies grow with request rate, and the capacity that meets SLOs."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kb.domain import BenchmarkRecord, BenchmarkSource, Quantization, SLOTargets

CurveKey = tuple[str, str, int, Quantization]
"""(model HF repo, GPU name, tensor-parallel degree / GPU count, quantisation)."""


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One load point: request rate one replica sustained and the p95 latencies it saw (ms)."""

    load: float
    rps: float
    ttft_p95: float
    itl_p95: float
    e2e_p95: float
    tokens_per_second: float


@dataclass(frozen=True, slots=True)
class LoadCurve:
    """Points ordered by increasing load, and whether they were measured or estimated."""

    points: tuple[CurvePoint, ...]
    source: BenchmarkSource
    confidence: float

    @property
    def benchmarked(self) -> bool:
        return self.source is not BenchmarkSource.ESTIMATED


def curve_from_records(records: Iterable[BenchmarkRecord]) -> LoadCurve:
    """Build a curve from the rows of one exact-match key (any load kinds)."""
    rows = sorted(
        records, key=lambda r: (r.concurrency or r.load_value or r.requests_per_second, r.requests_per_second)
    )
    if not rows:
        raise ValueError("a load curve needs at least one benchmark row")
    points = tuple(
        CurvePoint(
            load=r.concurrency or r.load_value,
            rps=r.requests_per_second,
            ttft_p95=r.ttft_ms.p95,
            itl_p95=r.itl_ms.p95,
            e2e_p95=r.e2e_ms.p95,
            tokens_per_second=r.tokens_per_second,
        )
        for r in rows
    )
    real = [r for r in rows if r.source is not BenchmarkSource.ESTIMATED]
    source = real[0].source if real else BenchmarkSource.ESTIMATED
    confidence = min(r.confidence for r in rows)
    return LoadCurve(points=points, source=source, confidence=confidence)


METRICS = ("ttft", "itl", "e2e")


def _values(point: CurvePoint) -> tuple[float, float, float]:
    return point.ttft_p95, point.itl_p95, point.e2e_p95


def _targets(slo: SLOTargets) -> tuple[float, float, float]:
    return slo.ttft_p95_ms, slo.itl_p95_ms, slo.e2e_p95_ms


@dataclass(frozen=True, slots=True)
class Capacity:
    """The largest request rate one replica carries within the SLOs, and what limits it."""

    max_rps: float
    binding: str
    """'ttft', 'itl', 'e2e', or 'throughput' when the curve ends before any SLO binds."""


@dataclass(frozen=True, slots=True)
class Miss:
    """Even the lightest load point misses: which metric, by how much."""

    metric: str
    predicted_ms: float
    target_ms: float


def capacity_under_slo(curve: LoadCurve, slo: SLOTargets) -> Capacity | Miss:
    """Walk the curve until a p95 target breaks; interpolate linearly in rate between the two bracketing points.

    Written with plain comparisons: the planner calls it for every model x GPU x TP x format in the catalog.
    """
    t_ttft, t_itl, t_e2e = slo.ttft_p95_ms, slo.itl_p95_ms, slo.e2e_p95_ms
    points = curve.points
    first = points[0]
    if first.ttft_p95 > t_ttft or first.itl_p95 > t_itl or first.e2e_p95 > t_e2e:
        ratios = (first.ttft_p95 / t_ttft, first.itl_p95 / t_itl, first.e2e_p95 / t_e2e)
        worst = max(range(3), key=ratios.__getitem__)
        return Miss(metric=METRICS[worst], predicted_ms=_values(first)[worst], target_ms=_targets(slo)[worst])
    best_rps = first.rps
    previous = first
    for point in points[1:]:
        if point.ttft_p95 <= t_ttft and point.itl_p95 <= t_itl and point.e2e_p95 <= t_e2e:
            if point.rps > best_rps:
                best_rps = point.rps
            previous = point
            continue
        fraction, binding = 1.0, "throughput"
        for index, (low, high, target) in enumerate(
            zip(_values(previous), _values(point), (t_ttft, t_itl, t_e2e), strict=True)
        ):
            if high > target:
                share = (target - low) / (high - low) if high > low else 0.0
                if share < fraction:
                    fraction, binding = share, METRICS[index]
        rps = previous.rps + fraction * (point.rps - previous.rps)
        return Capacity(max_rps=max(best_rps, rps), binding=binding)
    return Capacity(max_rps=best_rps, binding="throughput")


def latency_at(curve: LoadCurve, rps: float) -> tuple[float, float, float]:
    """p95 (TTFT, ITL, E2E) at a request rate, interpolated; below the lightest point its values hold."""
    points = curve.points
    if rps <= points[0].rps:
        return _values(points[0])
    for previous, point in itertools.pairwise(points):
        if rps <= point.rps:
            span = point.rps - previous.rps
            share = (rps - previous.rps) / span if span > 0 else 1.0
            before, after = _values(previous), _values(point)
            return (
                before[0] + share * (after[0] - before[0]),
                before[1] + share * (after[1] - before[1]),
                before[2] + share * (after[2] - before[2]),
            )
    return _values(points[-1])


def meets(values: Sequence[float], slo: SLOTargets) -> tuple[bool, bool, bool]:
    targets = _targets(slo)
    return values[0] <= targets[0], values[1] <= targets[1], values[2] <= targets[2]
