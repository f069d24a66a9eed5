"""Capacity planner: from a deployment spec to every viable configuration, ranked, costed and explained."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import ValidationError

from kb.domain import GPUSpec, ModelSpec, Quantization, SLOTargets, TrafficProfile
from kb.errors import NotFoundError, ValidationFailedError
from kb.repositories.catalog import CatalogSnapshot
from tools.costs import estimate_cost
from tools.curve_matrix import (
    BINDING_NAMES,
    BoolArray,
    Capacities,
    CurveMatrix,
    FloatArray,
    IntArray,
    capacities,
    latency_at,
)
from tools.curves import METRICS, CurveKey, LoadCurve, meets
from tools.ranking import TIE_BREAK, order, pareto_frontier, sub_scores
from tools.rationale import explain
from tools.specs import (
    PRIORITY_WEIGHTS,
    DataSource,
    DeploymentSpec,
    NearMiss,
    ParetoPoint,
    PlanOption,
    PredictedLatency,
    Recommendation,
    ResolvedSpec,
    SLOCompliance,
    SubScores,
)

OFF_PEAK_SHARE = 0.25
"""Autoscaling floor: the share of peak traffic the minimum replica count must carry."""
BURST_FACTOR = 2.0
"""Autoscaling ceiling: bursts up to this multiple of the planned peak."""
DEFAULT_QUALITY = 50.0


def parse_spec(values: Mapping[str, object]) -> DeploymentSpec:
    """Validate raw input into a spec, turning Pydantic's errors into one readable message."""
    try:
        return DeploymentSpec.model_validate(values)
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "spec"
            messages.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
        raise ValidationFailedError("invalid deployment spec: " + "; ".join(messages)) from exc


_SLO_WORDS = {
    "ttft_p95_ms": ("time-to-first-token (TTFT)", "TTFT 300 ms"),
    "itl_p95_ms": ("inter-token latency (ITL)", "ITL 30 ms"),
    "e2e_p95_ms": ("end-to-end latency", "E2E 10 s"),
}


def _per_minute(rate: float) -> str:
    return f"{rate:g} request{'' if rate == 1 else 's'}/min"


def resolve_spec(spec: DeploymentSpec, catalog: CatalogSnapshot) -> ResolvedSpec:
    """Apply the use-case template; explicit fields win. Fails clearly when traffic, SLOs or scale are missing."""
    template = catalog.template(spec.use_case) if spec.use_case else None
    notes: list[str] = []
    if spec.prompt_tokens is not None and spec.output_tokens is not None:
        traffic = TrafficProfile(prompt_tokens=spec.prompt_tokens, output_tokens=spec.output_tokens)
    elif template is not None:
        traffic = template.traffic
    else:
        raise ValidationFailedError("no traffic shape: name a use case or give prompt_tokens and output_tokens")
    targets: dict[str, float] = {}
    for name in ("ttft_p95_ms", "itl_p95_ms", "e2e_p95_ms"):
        value = getattr(spec, name)
        if value is None and template is not None:
            value = getattr(template.slo, name)
        if value is None and name == "e2e_p95_ms":
            # No use case and no E2E target: the whole answer at the stated TTFT and ITL.
            value = targets["ttft_p95_ms"] + targets["itl_p95_ms"] * (traffic.output_tokens - 1)
            notes.append(
                f"E2E target {value:.0f} ms = TTFT + ITL x {traffic.output_tokens - 1} more tokens (no use case "
                "gave one)"
            )
        if value is None:
            metric, example = _SLO_WORDS[name]
            raise ValidationFailedError(f"no {metric} target: name a use case or give one, e.g. {example!r}")
        targets[name] = value
    slo = SLOTargets(**targets)
    min_e2e = slo.ttft_p95_ms + slo.itl_p95_ms * (traffic.output_tokens - 1)
    if slo.e2e_p95_ms < min_e2e * 0.5:
        notes.append(
            f"E2E target {slo.e2e_p95_ms:.0f} ms is far below TTFT + ITL x {traffic.output_tokens} tokens "
            f"({min_e2e:.0f} ms): it will bind first"
        )
    if spec.qps is not None:
        qps, users = spec.qps, None
        source: Literal["explicit", "users", "concurrent", "default"] = "explicit"
    elif spec.users is not None:
        if template is None:
            raise ValidationFailedError("users need a use case to convert into requests/second; give qps instead")
        qps, source, users = template.qps_for_users(spec.users), "users", spec.users
        notes.append(
            f"{spec.users:,} users -> {qps:.2f} req/s at peak ({template.active_user_fraction:.0%} active, "
            f"{_per_minute(template.requests_per_active_user_per_minute)} each)"
        )
    elif spec.concurrent_users is not None:
        if template is None:
            raise ValidationFailedError("concurrent users need a use case for their request rate; give qps instead")
        rate = template.requests_per_active_user_per_minute
        qps, source, users = spec.concurrent_users * rate / 60.0, "concurrent", None
        notes.append(
            f"{spec.concurrent_users:,} concurrent users -> {qps:.2f} req/s at peak ({_per_minute(rate)} each, all "
            "active at once)"
        )
    else:
        raise ValidationFailedError("no traffic volume: give users or qps")
    return ResolvedSpec(
        use_case=template.use_case if template else None,
        traffic=traffic,
        slo=slo,
        qps=qps,
        qps_source=source,
        users=users,
        notes=notes,
    )


def _allowed(spec: DeploymentSpec, catalog: CatalogSnapshot) -> tuple[dict[str, ModelSpec], dict[str, GPUSpec]]:
    models = {m.hf_repo: m for m in catalog.models}
    gpus = {g.name: g for g in catalog.gpus}
    if spec.models:
        models = {m.hf_repo: m for m in (catalog.model(name) for name in spec.models)}
    for name in spec.exclude_models:
        models.pop(catalog.model(name).hf_repo, None)
    if spec.approved_only:
        models = {k: m for k, m in models.items() if m.approved_for_production}
    if spec.gpus:
        gpus = {g.name: g for g in (catalog.gpu(name) for name in spec.gpus)}
    for name in spec.exclude_gpus:
        gpus.pop(catalog.gpu(name).name, None)
    if not models:
        raise ValidationFailedError("the model filters leave no model to consider")
    if not gpus:
        raise ValidationFailedError("the GPU filters leave no GPU to consider")
    return models, gpus


def _quality(model: ModelSpec, use_case: str | None) -> float:
    scores = [q.score for q in model.quality if use_case is None or q.use_case == use_case]
    return sum(scores) / len(scores) if scores else DEFAULT_QUALITY


@dataclass(frozen=True)
class Candidate:
    """One configuration with its plan, as the shortlist carries it into a PlanOption."""

    model: ModelSpec
    gpu: GPUSpec
    tensor_parallel: int
    quantization: Quantization
    curve: LoadCurve
    max_rps: float
    binding: str
    replicas: int
    gpus_total: int
    predicted: tuple[float, float, float]
    monthly_usd: float
    quality: float
    within_budget: bool | None
    latency_score: float = 0.0
    cost_score: float = 0.0
    total: float = 0.0


@dataclass
class Evaluation:
    """Every configuration the curves cover, as arrays over the allowed rows of the curve matrix."""

    resolved: ResolvedSpec
    matrix: CurveMatrix
    models: dict[str, ModelSpec]
    gpus: dict[str, GPUSpec]
    rows: IntArray
    capacity: Capacities
    replicas: IntArray
    gpus_total: IntArray
    predicted: FloatArray
    monthly_usd: FloatArray
    quality: FloatArray
    viable_mask: BoolArray
    over_budget_mask: BoolArray
    over_gpu_cap: int
    budget: float | None

    @property
    def considered(self) -> int:
        return len(self.rows)

    def candidate(self, i: int, scores: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Candidate:
        row = int(self.rows[i])
        model_id, gpu_name, tp, quant = self.matrix.keys[row]
        return Candidate(
            model=self.models[model_id],
            gpu=self.gpus[gpu_name],
            tensor_parallel=tp,
            quantization=quant,
            curve=self.matrix.curves[row],
            max_rps=float(self.capacity.max_rps[row]),
            binding=BINDING_NAMES[int(self.capacity.binding[row])],
            replicas=int(self.replicas[i]),
            gpus_total=int(self.gpus_total[i]),
            predicted=(float(self.predicted[i, 0]), float(self.predicted[i, 1]), float(self.predicted[i, 2])),
            monthly_usd=float(self.monthly_usd[i]),
            quality=float(self.quality[i]),
            within_budget=None if self.budget is None else bool(self.monthly_usd[i] <= self.budget),
            latency_score=scores[0],
            cost_score=scores[1],
            total=scores[2],
        )

    @property
    def viable(self) -> list[Candidate]:
        return [self.candidate(int(i)) for i in np.flatnonzero(self.viable_mask)]

    def missed_rows(self) -> IntArray:
        missed: IntArray = self.rows[self.capacity.missed[self.rows]]
        return missed


def as_matrix(curves: Mapping[CurveKey, LoadCurve] | CurveMatrix) -> CurveMatrix:
    return curves if isinstance(curves, CurveMatrix) else CurveMatrix.build(curves)


def evaluate(
    spec: DeploymentSpec, catalog: CatalogSnapshot, curves: Mapping[CurveKey, LoadCurve] | CurveMatrix
) -> Evaluation:
    """Capacity, predicted latency and cost of every configuration allowed by the spec (no ranking)."""
    matrix = as_matrix(curves)
    resolved = resolve_spec(spec, catalog)
    models, gpus = _allowed(spec, catalog)
    slo, qps = resolved.slo, resolved.qps
    tokens = resolved.traffic.prompt_tokens + resolved.traffic.output_tokens
    formats = set(spec.quantizations) or set(Quantization)
    unit_cost: dict[str, float] = {}
    for gpu in gpus.values():
        unit = estimate_cost(
            gpu=gpu,
            gpus=1,
            prices=catalog.prices,
            deployment_model=spec.deployment_model,
            pricing_model=spec.pricing_model,
            datacenter=spec.datacenter,
            tokens_per_hour=qps * tokens * 3600,
        )
        if unit is not None:
            unit_cost[gpu.name] = unit.monthly_usd
    quality_of = {repo: _quality(model, resolved.use_case) for repo, model in models.items()}

    rows_list = [
        row
        for row, (model_id, gpu_name, _tp, quant) in enumerate(matrix.keys)
        if model_id in models and gpu_name in unit_cost and quant in formats and tokens <= models[model_id].max_context
    ]
    rows = np.array(rows_list, dtype=np.int64)
    capacity = capacities(matrix, slo)
    keys = [matrix.keys[r] for r in rows_list]
    tp = np.array([k[2] for k in keys], dtype=np.int64)
    max_rps = capacity.max_rps[rows]
    passed = ~capacity.missed[rows]
    safe_rps = np.where(passed, max_rps, 1.0)
    replicas = np.where(passed, np.maximum(1, np.ceil(qps * spec.headroom / safe_rps - 1e-9)), 0).astype(np.int64)
    gpus_total = replicas * tp
    per_replica = qps / np.maximum(replicas, 1)
    predicted = latency_at(matrix, rows, per_replica)
    monthly = np.array([unit_cost[k[1]] for k in keys], dtype=np.float64) * gpus_total
    quality = np.array([quality_of[k[0]] for k in keys], dtype=np.float64)
    no = np.zeros(len(rows), dtype=bool)
    over_cap = passed & (gpus_total > spec.max_gpus) if spec.max_gpus is not None else no
    budget = spec.budget_usd_month
    over_budget = passed & ~over_cap & (monthly > budget) if budget is not None else no
    return Evaluation(
        resolved=resolved,
        matrix=matrix,
        models=models,
        gpus=gpus,
        rows=rows,
        capacity=capacity,
        replicas=replicas,
        gpus_total=gpus_total,
        predicted=predicted,
        monthly_usd=monthly,
        quality=quality,
        viable_mask=passed & ~over_cap & ~over_budget,
        over_budget_mask=over_budget,
        over_gpu_cap=int(over_cap.sum()),
        budget=budget,
    )


def plan(
    spec: DeploymentSpec, catalog: CatalogSnapshot, curves: Mapping[CurveKey, LoadCurve] | CurveMatrix
) -> Recommendation:
    """Every viable configuration for the spec, ranked; nearest misses and single relaxations when none qualifies."""
    ev = evaluate(spec, catalog, curves)
    resolved, slo = ev.resolved, ev.resolved.slo
    weights = spec.weights or PRIORITY_WEIGHTS[spec.priority]
    viable = np.flatnonzero(ev.viable_mask)
    targets = np.array([slo.ttft_p95_ms, slo.itl_p95_ms, slo.e2e_p95_ms])
    utilisation = (ev.predicted[viable] / targets).max(axis=1) if len(viable) else np.zeros(0)
    latency_score, cost_score, total = sub_scores(
        utilisation, ev.monthly_usd[viable], ev.gpus_total[viable], ev.quality[viable], weights
    )
    names = {name: index for index, name in enumerate(sorted(ev.models))}
    name_rank = np.array([names[ev.matrix.keys[int(ev.rows[i])][0]] for i in viable], dtype=np.int64)
    ranking = order(total, ev.monthly_usd[viable], ev.predicted[viable, 0], ev.gpus_total[viable], name_rank)
    position = {int(local): place + 1 for place, local in enumerate(ranking)}

    def option(local: int) -> PlanOption:
        i = int(viable[local])
        scores = (float(latency_score[local]), float(cost_score[local]), float(total[local]))
        return _option(ev.candidate(i, scores), position[local], resolved, spec, catalog)

    options = [option(int(local)) for local in ranking[: spec.top_k]]
    frontier = pareto_frontier(ev.monthly_usd[viable], ev.predicted[viable, 0], ev.gpus_total[viable])
    pareto = [_pareto_point(ev, int(viable[local]), position[int(local)]) for local in frontier]

    missed = ev.missed_rows()
    ratios = ev.capacity.miss_value[missed] / targets[ev.capacity.miss_metric[missed]]
    near = [_near_miss(ev, int(row)) for row in missed[np.argsort(ratios, kind="stable")[:3]]]
    over_budget_cost = ev.monthly_usd[ev.over_budget_mask]
    relaxations = [] if len(viable) else _relaxations(ev, missed, over_budget_cost, spec, slo)
    if len(viable):
        message = f"{len(viable)} configurations meet every p95 SLO"
        if spec.budget_usd_month is not None:
            message += f" within ${spec.budget_usd_month:,.0f}/month"
        message += f"; showing the top {len(options)} for {spec.priority.value} priority."
    elif ev.considered == 0:
        message = "No configuration could be evaluated: no benchmark or estimate covers this model/GPU selection."
    elif over_budget_cost.size:
        message = (
            f"{int(over_budget_cost.size)} configurations meet every p95 SLO, but none within "
            f"${spec.budget_usd_month or 0:,.0f}/month: the cheapest costs ${float(over_budget_cost.min()):,.0f}/month."
        )
    elif ev.over_gpu_cap:
        message = f"{ev.over_gpu_cap} configurations meet every p95 SLO, but all need more than {spec.max_gpus} GPUs."
    else:
        closest = near[0].summary if near else "none"
        message = f"Nothing meets all p95 SLOs among {ev.considered} configurations. Closest: {closest}."
    return Recommendation(
        spec=resolved,
        priority=spec.priority,
        weights=weights,
        options=options,
        total_viable=len(viable),
        considered=ev.considered,
        pareto=pareto,
        near_misses=near,
        relaxations=relaxations,
        tie_break=TIE_BREAK,
        message=message,
    )


def _option(
    candidate: Candidate, rank_number: int, resolved: ResolvedSpec, spec: DeploymentSpec, catalog: CatalogSnapshot
) -> PlanOption:
    c, qps = candidate, resolved.qps
    max_rps = c.max_rps
    cost = estimate_cost(
        gpu=c.gpu,
        gpus=c.gpus_total,
        prices=catalog.prices,
        deployment_model=spec.deployment_model,
        pricing_model=spec.pricing_model,
        datacenter=spec.datacenter,
        tokens_per_hour=qps * (resolved.traffic.prompt_tokens + resolved.traffic.output_tokens) * 3600,
    )
    if cost is None:  # candidates are only built for GPUs with a price, so this is a broken catalog
        raise NotFoundError(f"no {spec.pricing_model.value} price for {c.gpu.name}")
    ttft_ok, itl_ok, e2e_ok = meets(c.predicted, resolved.slo)
    option = PlanOption(
        rank=rank_number,
        model=c.model.hf_repo,
        model_name=c.model.name,
        gpu=c.gpu.name,
        tensor_parallel=c.tensor_parallel,
        quantization=c.quantization,
        replicas=c.replicas,
        gpus_total=c.gpus_total,
        min_replicas=max(1, math.ceil(qps * OFF_PEAK_SHARE / max_rps - 1e-9)),
        max_replicas=max(c.replicas, math.ceil(qps * BURST_FACTOR / max_rps - 1e-9)),
        max_rps_per_replica=round(max_rps, 4),
        planned_rps_per_replica=round(qps / c.replicas, 4),
        headroom_pct=round(100.0 * (max_rps * c.replicas / qps - 1.0), 1),
        predicted=PredictedLatency(ttft_p95_ms=c.predicted[0], itl_p95_ms=c.predicted[1], e2e_p95_ms=c.predicted[2]),
        compliance=SLOCompliance(ttft=ttft_ok, itl=itl_ok, e2e=e2e_ok),
        binding_metric=c.binding,
        cost=cost,
        within_budget=c.within_budget,
        data_source=DataSource.BENCHMARKED if c.curve.benchmarked else DataSource.ESTIMATED,
        confidence=round(c.curve.confidence, 3),
        quality_score=round(c.quality, 1),
        scores=SubScores(
            latency=round(c.latency_score, 1),
            cost=round(c.cost_score, 1),
            quality=round(c.quality, 1),
            total=round(c.total, 2),
        ),
    )
    option.rationale = explain(option, resolved.slo, qps, spec.priority, spec.budget_usd_month)
    return option


def _pareto_point(ev: Evaluation, i: int, rank: int) -> ParetoPoint:
    model_id, gpu_name, tp, quant = ev.matrix.keys[int(ev.rows[i])]
    gpus_total = int(ev.gpus_total[i])
    return ParetoPoint(
        rank=rank,
        label=f"{ev.models[model_id].name} on {gpus_total}x {gpu_name} (TP{tp}, {quant.value})",
        model=model_id,
        gpu=gpu_name,
        gpus_total=gpus_total,
        monthly_usd=float(ev.monthly_usd[i]),
        ttft_p95_ms=float(ev.predicted[i, 0]),
        itl_p95_ms=float(ev.predicted[i, 1]),
        e2e_p95_ms=float(ev.predicted[i, 2]),
    )


def _near_miss(ev: Evaluation, row: int) -> NearMiss:
    model_id, gpu_name, tp, quant = ev.matrix.keys[row]
    model, metric = ev.models[model_id], METRICS[int(ev.capacity.miss_metric[row])]
    predicted = float(ev.capacity.miss_value[row])
    target = float(getattr(ev.resolved.slo, f"{metric}_p95_ms"))
    return NearMiss(
        model=model_id,
        gpu=gpu_name,
        tensor_parallel=tp,
        quantization=quant,
        failed_metric=metric,
        predicted_ms=predicted,
        target_ms=target,
        monthly_usd=None,
        summary=(
            f"{model.name} on {tp}x {gpu_name} ({quant.value}) at {predicted:.0f} ms p95 "
            f"{metric.upper()} vs {target:.0f} ms target"
        ),
    )


def _relaxations(
    ev: Evaluation, missed: IntArray, over_budget_cost: FloatArray, spec: DeploymentSpec, slo: SLOTargets
) -> list[str]:
    """Single changes that would make at least one option appear."""
    out: list[str] = []
    if over_budget_cost.size:
        cheapest = float(over_budget_cost.min())
        out.append(f"raise the budget to ${math.ceil(cheapest):,}/month (from ${spec.budget_usd_month or 0:,.0f})")
    if ev.over_gpu_cap:
        out.append(f"allow more than {spec.max_gpus} GPUs ({ev.over_gpu_cap} configurations need more)")
    if out:
        return out  # the SLOs are not what rules everything out
    targets = {"ttft": slo.ttft_p95_ms, "itl": slo.itl_p95_ms, "e2e": slo.e2e_p95_ms}
    for index, (metric, label) in enumerate((("ttft", "TTFT"), ("itl", "ITL"), ("e2e", "E2E"))):
        needed = ev.capacity.miss_value[missed][ev.capacity.miss_metric[missed] == index]
        if needed.size:
            out.append(
                f"relax p95 {label} to {math.ceil(float(needed.min()))} ms (from {targets[metric]:.0f} ms) for the "
                "closest configuration; check the other targets still hold"
            )
    if spec.gpus or spec.exclude_gpus:
        out.append("widen the GPU filter")
    return out
