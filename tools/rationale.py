"""Plain-language explanations generated from the numbers (no LLM involved)."""

from __future__ import annotations

from kb.domain import SLOTargets
from tools.specs import DataSource, PlanOption, Priority

METRIC_NAMES = {"ttft": "time to first token", "itl": "inter-token latency", "e2e": "end-to-end latency"}


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


def headroom_figure(pct: float) -> str:
    """Spare capacity at peak: a percentage, or the capacity as a multiple of the load once large ("18x", not
    "1694%")."""
    return f"{pct:.0f}%" if pct < 1000 else f"{1 + pct / 100:.0f}x"


def headroom(pct: float) -> str:
    figure = headroom_figure(pct)
    return f"{figure} headroom" if figure.endswith("%") else f"capacity {figure} the load"


def _rate(qps: float) -> str:
    """Requests per second with enough digits that a small load does not read as zero."""
    return f"{qps:.1f}" if qps >= 1 else f"{qps:.2f}" if qps >= 0.01 else f"{qps:.3f}"


def explain(option: PlanOption, slo: SLOTargets, qps: float, priority: Priority, budget: float | None) -> str:
    p = option.predicted
    parts = [
        f"{option.label} carries {_rate(qps)} req/s with {option.replicas} replica"
        f"{'s' if option.replicas != 1 else ''} (each good for {option.max_rps_per_replica:.2f} req/s within the SLOs,"
        f" {headroom(option.headroom_pct)} at peak).",
        f"Predicted p95: TTFT {_ms(p.ttft_p95_ms)} vs {_ms(slo.ttft_p95_ms)} target, ITL {_ms(p.itl_p95_ms)} vs "
        f"{_ms(slo.itl_p95_ms)}, E2E {_ms(p.e2e_p95_ms)} vs {_ms(slo.e2e_p95_ms)}.",
    ]
    if option.binding_metric in METRIC_NAMES:
        parts.append(f"Adding load would first break {METRIC_NAMES[option.binding_metric]}.")
    else:
        parts.append("Each replica runs out of throughput before any latency target binds.")
    cost = option.cost
    if cost.monthly_usd > 0:
        line = f"Costs ${cost.monthly_usd:,.0f}/month ({cost.pricing_model.value.replace('_', '-')}"
        line += f", {cost.provider})" if cost.provider else ")"
        if budget is not None:
            line += " within" if option.within_budget else " over"
            line += f" the ${budget:,.0f} budget"
        parts.append(line + ".")
    if option.scores is not None:
        s = option.scores
        parts.append(
            f"Ranked #{option.rank} for {priority.value} priority (latency {s.latency:.0f}, cost {s.cost:.0f}, "
            f"quality {s.quality:.0f})."
        )
    if option.data_source is DataSource.BENCHMARKED:
        parts.append("Figures come from benchmark measurements.")
    else:
        parts.append(f"Figures are estimated by the performance model (confidence {option.confidence:.2f}).")
    return " ".join(parts)
