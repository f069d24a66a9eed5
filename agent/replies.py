"""Markdown replies built from tool results: recommendation tables, comparisons, explanations, deployments."""

from __future__ import annotations

from tools.inference_probe import ProbeResult
from tools.rationale import headroom_figure
from tools.specs import DeploymentSpec, PlanOption, Recommendation
from tools.whatif import ScenarioComparison


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def recommendation_table(rec: Recommendation) -> str:
    slo = rec.spec.slo
    header = (
        f"| # | model | GPU x count | TP | replicas | TTFT p95 (≤{_ms(slo.ttft_p95_ms)}) "
        f"| ITL p95 (≤{_ms(slo.itl_p95_ms)}) | E2E p95 (≤{_ms(slo.e2e_p95_ms)}) | $/month | data |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for o in rec.options:
        p, c = o.predicted, o.compliance
        data = "benchmarked" if o.data_source.value == "benchmarked" else f"estimated ({o.confidence:.2f})"
        rows.append(
            f"| {o.rank} | {o.model_name} ({o.quantization.value}) | {o.gpu} x {o.gpus_total} | {o.tensor_parallel} "
            f"| {o.replicas} | {_ms(p.ttft_p95_ms)} {_mark(c.ttft)} | {p.itl_p95_ms:.1f} ms {_mark(c.itl)} "
            f"| {_ms(p.e2e_p95_ms)} {_mark(c.e2e)} | ${o.cost.monthly_usd:,.0f} | {data} |"
        )
    return "\n".join([header, *rows])


def filters_line(spec: DeploymentSpec) -> str | None:
    """The restrictions in force, so the user can see (and lift) what narrows the list."""

    def short(names: list[str]) -> str:
        shown = ", ".join(n.split("/")[-1] for n in names[:3])
        return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    parts = []
    if spec.gpus:
        parts.append(f"only {short(spec.gpus)}")
    if spec.exclude_gpus:
        parts.append(f"no {short(spec.exclude_gpus)}")
    if spec.models:
        parts.append(f"models {short(spec.models)}")
    if spec.exclude_models:
        parts.append(f"no {short(spec.exclude_models)}")
    if spec.quantizations:
        parts.append(" or ".join(q.value for q in spec.quantizations) + " only")
    if spec.budget_usd_month is not None:
        parts.append(f"budget ${spec.budget_usd_month:,.0f}/month")
    if spec.max_gpus is not None:
        parts.append(f"at most {spec.max_gpus} GPUs")
    if not parts:
        return None
    return "**Filters:** " + "; ".join(parts) + ' (say *"any GPU is fine"*, *"no budget limit"*... to lift one)'


def recommendation_reply(rec: Recommendation, notes: list[str], request: DeploymentSpec | None = None) -> str:
    spec = rec.spec
    lines = [
        f"**{spec.use_case or 'Custom workload'}**: {spec.traffic.prompt_tokens} → {spec.traffic.output_tokens} "
        f"tokens, {spec.qps:.2f} requests/s at peak; p95 targets TTFT {_ms(spec.slo.ttft_p95_ms)}, ITL "
        f"{_ms(spec.slo.itl_p95_ms)}, E2E {_ms(spec.slo.e2e_p95_ms)}."
    ]
    filters = filters_line(request) if request is not None else None
    if filters:
        lines += ["", filters]
    cost_notes = dict.fromkeys(n for o in rec.options[:1] for n in o.cost.notes)  # e.g. owned GPUs, no power price
    for note in [*spec.notes, *cost_notes, *notes]:
        lines += ["", f"_{note}_"]  # a paragraph each: Markdown would run single lines together
    if rec.options:
        lines += ["", recommendation_table(rec), "", f"**Why #1:** {rec.options[0].rationale}", ""]
        lines.append(rec.message)
        lines.append('Say *"deploy option 1"*, *"compare 1 and 3"*, *"what if traffic doubles?"*, or change a target.')
    else:
        lines += ["", rec.message]
        lines += [f"- closest: {m.summary}" for m in rec.near_misses]
        lines += [f"- try: {r}" for r in rec.relaxations]
    return "\n".join(lines)


def pick_rank(rec: Recommendation, pick: str) -> int:
    """The rank of the cheapest / fastest / best shown option."""
    if not rec.options:
        return 1
    if pick == "cheapest":
        return min(rec.options, key=lambda o: (o.cost.monthly_usd, o.rank)).rank
    if pick == "fastest":
        return min(rec.options, key=lambda o: (o.predicted.ttft_p95_ms, o.rank)).rank
    return rec.options[0].rank


def option_by_rank(rec: Recommendation, rank: int) -> PlanOption | None:
    return next((o for o in rec.options if o.rank == rank), None)


def compare_options_reply(rec: Recommendation, ranks: list[int]) -> str:
    chosen = [o for r in ranks if (o := option_by_rank(rec, r)) is not None]
    if len(chosen) < 2:
        return f"I have options 1 to {len(rec.options)}; name two of them, e.g. *compare 1 and 3*."
    base = chosen[0]
    header = "| | " + " | ".join(f"#{o.rank} {o.label}" for o in chosen) + " |\n|---|" + "---|" * len(chosen)
    rows = [
        ("p95 TTFT", [_ms(o.predicted.ttft_p95_ms) for o in chosen]),
        ("p95 ITL", [f"{o.predicted.itl_p95_ms:.1f} ms" for o in chosen]),
        ("p95 E2E", [_ms(o.predicted.e2e_p95_ms) for o in chosen]),
        ("GPUs", [str(o.gpus_total) for o in chosen]),
        ("$/month", [f"${o.cost.monthly_usd:,.0f}" for o in chosen]),
        ("headroom", [headroom_figure(o.headroom_pct) for o in chosen]),
        ("quality", [f"{o.quality_score:.0f}" for o in chosen]),
        ("data", [o.data_source.value for o in chosen]),
    ]
    body = "\n".join(f"| {name} | " + " | ".join(values) + " |" for name, values in rows)
    diffs = []
    for other in chosen[1:]:
        money = other.cost.monthly_usd - base.cost.monthly_usd
        ttft = other.predicted.ttft_p95_ms - base.predicted.ttft_p95_ms
        diffs.append(
            f"- #{other.rank} vs #{base.rank}: {'+' if money >= 0 else '-'}${abs(money):,.0f}/month, "
            f"TTFT {ttft:+.0f} ms, {other.gpus_total - base.gpus_total:+d} GPUs"
        )
    return "\n".join([header, body, "", *diffs])


def why_reply(rec: Recommendation, rank: int) -> str:
    option = option_by_rank(rec, rank)
    if option is None:
        return f"There is no option {rank}; I have {len(rec.options)}."
    lines = [option.rationale]
    if option.scores:
        s = option.scores
        weights = rec.weights.normalised()
        lines.append(
            f"Score {s.total:.1f} = {weights[0]:.2f} x latency {s.latency:.0f} + {weights[1]:.2f} x cost {s.cost:.0f} "
            f"+ {weights[2]:.2f} x quality {s.quality:.0f} ({rec.priority.value} priority). {rec.tie_break}."
        )
    runner_up = option_by_rank(rec, rank + 1)
    if runner_up is not None:
        lines.append(
            f"Next is #{runner_up.rank} {runner_up.label} at ${runner_up.cost.monthly_usd:,.0f}/month and "
            f"{_ms(runner_up.predicted.ttft_p95_ms)} p95 TTFT."
        )
    return "\n\n".join(lines)


def comparison_reply(comparison: ScenarioComparison) -> str:
    header = "| scenario | req/s | viable | top option | $/month | TTFT p95 |\n|---|---|---|---|---|---|"
    rows = []
    for s in comparison.scenarios:
        top = s.top
        rows.append(
            f"| {s.label} | {s.qps:.2f} | {s.viable} | {top.label if top else 'none'} | "
            f"{f'${top.cost.monthly_usd:,.0f}' if top else '-'} | {_ms(top.predicted.ttft_p95_ms) if top else '-'} |"
        )
    deltas = []
    for d in comparison.deltas:
        money = f"{d.monthly_usd:+,.0f} $/month" if d.monthly_usd is not None else "n/a"
        deltas.append(f"- **{d.label}** vs baseline: {money}; {'; '.join(d.changed) or 'same top choice'}")
    return "\n".join([header, *rows, "", *deltas])


def deployment_reply(record_id: str, endpoint: str | None, option: PlanOption, probe: ProbeResult | None) -> str:
    lines = [
        f"Deployed **{record_id}**: {option.label}.",
        f"- endpoint: `{endpoint}`" if endpoint else "- manifests written",
        f"- cost: ${option.cost.monthly_usd:,.0f}/month",
        f"- predicted p95: TTFT {_ms(option.predicted.ttft_p95_ms)}, ITL {option.predicted.itl_p95_ms:.1f} ms",
    ]
    if probe is not None:
        lines.append(f"- measured: {probe.summary()}")
    return "\n".join(lines)
