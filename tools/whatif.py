"""What-if scenarios: derive a changed spec, re-plan, and compare scenarios side by side."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kb.domain import Quantization, TrafficProfile
from kb.errors import ValidationFailedError
from kb.repositories.catalog import CatalogSnapshot
from tools.capacity_planner import plan, resolve_spec
from tools.curve_matrix import CurveMatrix
from tools.curves import CurveKey, LoadCurve
from tools.specs import DeploymentSpec, PlanOption, Recommendation

SLOMetric = Literal["ttft", "itl", "e2e"]


MAX_TRAFFIC_FACTOR = 1000.0


class WhatIf(BaseModel):
    """One change to a spec. Exactly the fields given are applied, in this order."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, max_length=200, description="Name shown in comparisons")
    traffic_factor: float | None = Field(
        default=None, gt=0, le=MAX_TRAFFIC_FACTOR, description="Multiply QPS/users, e.g. 2"
    )
    slo_metric: SLOMetric | None = None
    slo_ms: float | None = Field(default=None, gt=0, description="New p95 target for slo_metric, ms")
    slo_factor: float | None = Field(default=None, gt=0, le=100, description="Scale slo_metric's target")
    only_gpus: list[str] | None = Field(default=None, max_length=64)
    exclude_gpus: list[str] | None = Field(default=None, max_length=64)
    quantization: Quantization | None = None
    budget_usd_month: float | None = Field(default=None, gt=0, le=1e9)

    @model_validator(mode="after")
    def _consistent(self) -> WhatIf:
        both = sorted({g.lower() for g in self.only_gpus or []} & {g.lower() for g in self.exclude_gpus or []})
        if both:
            raise ValueError(f"{', '.join(both)} is both in only_gpus and exclude_gpus")
        return self

    def describe(self) -> str:
        if self.label:
            return self.label
        parts = []
        if self.traffic_factor is not None:
            parts.append(f"traffic x{self.traffic_factor:g}")
        if self.slo_metric and self.slo_ms is not None:
            parts.append(f"{self.slo_metric.upper()} p95 {self.slo_ms:g} ms")
        if self.slo_metric and self.slo_factor is not None:
            parts.append(f"{self.slo_metric.upper()} target x{self.slo_factor:g}")
        if self.only_gpus:
            parts.append("only " + ", ".join(self.only_gpus))
        if self.exclude_gpus:
            parts.append("no " + ", ".join(self.exclude_gpus))
        if self.quantization:
            parts.append(f"{self.quantization.value} only")
        if self.budget_usd_month is not None:
            parts.append(f"budget ${self.budget_usd_month:,.0f}")
        return ", ".join(parts) or "baseline"


def apply_whatif(spec: DeploymentSpec, change: WhatIf, catalog: CatalogSnapshot) -> DeploymentSpec:
    """The spec with one what-if applied; SLO changes start from the resolved (template) value."""
    if (change.slo_ms is not None or change.slo_factor is not None) and change.slo_metric is None:
        raise ValidationFailedError("say which SLO to change: slo_metric is one of ttft, itl, e2e")
    if change.slo_ms is not None and change.slo_factor is not None:
        raise ValidationFailedError("give either slo_ms or slo_factor, not both")
    updates: dict[str, object] = {}
    if change.traffic_factor is not None:
        if spec.users is not None:
            updates["users"] = max(1, round(spec.users * change.traffic_factor))
        elif spec.concurrent_users is not None:
            updates["concurrent_users"] = max(1, round(spec.concurrent_users * change.traffic_factor))
        elif spec.qps is not None:
            updates["qps"] = spec.qps * change.traffic_factor
        else:
            raise ValidationFailedError("the spec has no users or QPS to scale")
    if change.slo_metric is not None:
        field = f"{change.slo_metric}_p95_ms"
        current = getattr(resolve_spec(spec, catalog).slo, field)
        updates[field] = change.slo_ms if change.slo_ms is not None else current * (change.slo_factor or 1.0)
    gpus, excluded = list(spec.gpus), list(spec.exclude_gpus)
    if change.only_gpus is not None:
        gpus = list(change.only_gpus)
        excluded = [g for g in excluded if g not in change.only_gpus]
    if change.exclude_gpus is not None:
        excluded = sorted({*excluded, *change.exclude_gpus})
        gpus = [g for g in gpus if g not in change.exclude_gpus]
    updates["gpus"], updates["exclude_gpus"] = gpus, excluded
    if change.quantization is not None:
        updates["quantizations"] = [change.quantization]
    if change.budget_usd_month is not None:
        updates["budget_usd_month"] = change.budget_usd_month
    from tools.capacity_planner import parse_spec

    return parse_spec({**spec.model_dump(), **updates})


class ScenarioSummary(BaseModel):
    label: str
    qps: float
    ttft_target_ms: float
    itl_target_ms: float
    e2e_target_ms: float
    viable: int
    top: PlanOption | None
    message: str


class ScenarioDelta(BaseModel):
    """How a scenario's best option differs from the first scenario's."""

    label: str
    monthly_usd: float | None
    gpus_total: int | None
    ttft_p95_ms: float | None
    itl_p95_ms: float | None
    e2e_p95_ms: float | None
    viable: int
    changed: list[str]


class ScenarioComparison(BaseModel):
    scenarios: list[ScenarioSummary]
    deltas: list[ScenarioDelta]


def _diff(base: ScenarioSummary, other: ScenarioSummary) -> ScenarioDelta:
    a, b = base.top, other.top
    changed: list[str] = []

    def delta(get: Callable[[PlanOption], float]) -> float | None:
        return None if a is None or b is None else round(get(b) - get(a), 4)

    if a is not None and b is not None:
        if (a.model, a.gpu, a.tensor_parallel, a.quantization) != (b.model, b.gpu, b.tensor_parallel, b.quantization):
            changed.append(f"top choice {a.label} -> {b.label}")
        if a.replicas != b.replicas:
            changed.append(f"replicas {a.replicas} -> {b.replicas}")
    elif (a is None) != (b is None):
        changed.append("no viable option" if b is None else "options appear")
    return ScenarioDelta(
        label=other.label,
        monthly_usd=delta(lambda o: o.cost.monthly_usd),
        gpus_total=None if a is None or b is None else b.gpus_total - a.gpus_total,
        ttft_p95_ms=delta(lambda o: o.predicted.ttft_p95_ms),
        itl_p95_ms=delta(lambda o: o.predicted.itl_p95_ms),
        e2e_p95_ms=delta(lambda o: o.predicted.e2e_p95_ms),
        viable=other.viable - base.viable,
        changed=changed,
    )


def summarise(label: str, recommendation: Recommendation) -> ScenarioSummary:
    slo = recommendation.spec.slo
    return ScenarioSummary(
        label=label,
        qps=recommendation.spec.qps,
        ttft_target_ms=slo.ttft_p95_ms,
        itl_target_ms=slo.itl_p95_ms,
        e2e_target_ms=slo.e2e_p95_ms,
        viable=recommendation.total_viable,
        top=recommendation.options[0] if recommendation.options else None,
        message=recommendation.message,
    )


CurveLookup = Callable[[TrafficProfile], Mapping[CurveKey, LoadCurve] | CurveMatrix]


def compare(
    base: DeploymentSpec, changes: Sequence[WhatIf], catalog: CatalogSnapshot, curves_for: CurveLookup
) -> ScenarioComparison:
    """Plan the baseline and each what-if; deltas are relative to the baseline."""
    specs = [("baseline", base)] + [(c.describe(), apply_whatif(base, c, catalog)) for c in changes]
    return compare_specs(specs, catalog, curves_for)


def compare_specs(
    specs: Sequence[tuple[str, DeploymentSpec]], catalog: CatalogSnapshot, curves_for: CurveLookup
) -> ScenarioComparison:
    """Compare arbitrary specs (the first is the reference)."""
    if len(specs) < 2:
        raise ValidationFailedError("a comparison needs at least two scenarios")
    summaries = [
        summarise(label, plan(spec, catalog, curves_for(resolve_spec(spec, catalog).traffic))) for label, spec in specs
    ]
    return ScenarioComparison(scenarios=summaries, deltas=[_diff(summaries[0], s) for s in summaries[1:]])
