"""`compass recommend`, `compass compare`, `compass plan`: the recommendation engine from the terminal."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.context import open_database
from agent.cli.errors import friendly_errors
from kb.domain import PricingModel, Quantization
from kb.errors import ValidationFailedError
from tools.capacity_planner import parse_spec
from tools.planning_service import PlanningService
from tools.specs import DeploymentModel, DeploymentSpec, Priority, Recommendation
from tools.whatif import ScenarioComparison, WhatIf

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)

UseCase = Annotated[
    str | None, typer.Option("--use-case", "-u", help="Use case id or words, e.g. chatbot_conversational")
]
Users = Annotated[int | None, typer.Option(help="Named users (converted to peak QPS by the use case)")]
Qps = Annotated[float | None, typer.Option(help="Peak requests per second (instead of --users)")]
Prompt = Annotated[int | None, typer.Option(help="Prompt tokens (overrides the use case's profile)")]
Output = Annotated[int | None, typer.Option(help="Output tokens (with --prompt-tokens)")]
Ttft = Annotated[float | None, typer.Option("--ttft", help="p95 time-to-first-token target, ms")]
Itl = Annotated[float | None, typer.Option("--itl", help="p95 inter-token latency target, ms")]
E2e = Annotated[float | None, typer.Option("--e2e", help="p95 end-to-end latency target, ms")]
Budget = Annotated[float | None, typer.Option("--budget", help="Maximum $/month")]
PriorityOpt = Annotated[Priority, typer.Option(help="What matters most")]
Gpus = Annotated[list[str] | None, typer.Option("--gpu", help="Only these GPUs (repeatable)")]
ExcludeGpus = Annotated[list[str] | None, typer.Option("--exclude-gpu", help="Never these GPUs (repeatable)")]
Models = Annotated[list[str] | None, typer.Option("--model", help="Only these models (repeatable)")]
ExcludeModels = Annotated[list[str] | None, typer.Option("--exclude-model", help="Never these models (repeatable)")]
Quants = Annotated[list[Quantization] | None, typer.Option("--quantization", help="Allowed weight formats")]
Pricing = Annotated[PricingModel, typer.Option("--pricing", help="Rental pricing model")]
Ownership = Annotated[DeploymentModel, typer.Option("--deployment-model", help="Rent, own or buy the GPUs")]
Power = Annotated[float | None, typer.Option("--power-cost", help="$/kWh for owned or purchased hardware")]
Headroom = Annotated[float, typer.Option(help="Capacity multiplier over peak QPS")]
MaxGpus = Annotated[int | None, typer.Option(help="Never more GPUs than this in total")]
Top = Annotated[int, typer.Option("--top", help="How many options to show")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for machines")]


def build_spec(**values: Any) -> DeploymentSpec:
    """A validated spec from CLI options (None and empty lists mean 'not given')."""
    power = values.pop("power_cost", None)
    raw = {k: v for k, v in values.items() if v is not None and v != []}
    if power is not None:
        raw["datacenter"] = {"power_cost_per_kwh": power}
    return parse_spec(raw)


def print_recommendation(rec: Recommendation) -> None:
    spec = rec.spec
    console.print(
        f"[bold]{spec.use_case or 'custom traffic'}[/]: {spec.traffic.prompt_tokens}->{spec.traffic.output_tokens} "
        f"tokens, {spec.qps:.2f} req/s peak; p95 targets TTFT {spec.slo.ttft_p95_ms:g} ms, ITL "
        f"{spec.slo.itl_p95_ms:g} ms, E2E {spec.slo.e2e_p95_ms:g} ms",
        highlight=False,
    )
    for note in spec.notes:
        console.print(f"  {note}", style="dim", highlight=False)
    if rec.options:
        table = Table(
            "#",
            "model",
            "GPU x count",
            "TP",
            "fmt",
            "repl.",
            "TTFT p95",
            "ITL p95",
            "E2E p95",
            "$/month",
            "data",
            "score",
        )
        for o in rec.options:
            table.add_row(
                str(o.rank),
                o.model_name,
                f"{o.gpu} x{o.gpus_total}",
                str(o.tensor_parallel),
                o.quantization.value,
                f"{o.replicas} ({o.min_replicas}-{o.max_replicas})",
                f"{o.predicted.ttft_p95_ms:.0f} ms",
                f"{o.predicted.itl_p95_ms:.1f} ms",
                f"{o.predicted.e2e_p95_ms / 1000:.2f} s",
                f"{o.cost.monthly_usd:,.0f}",
                o.data_source.value if o.data_source.value == "benchmarked" else f"est. {o.confidence:.2f}",
                f"{o.scores.total:.1f}" if o.scores else "-",
            )
        console.print(table)
        console.print(f"#1: {rec.options[0].rationale}", highlight=False)
        console.print(
            f"Pareto frontier (cost vs p95 TTFT): {', '.join(p.label for p in rec.pareto[:6])}",
            style="dim",
            highlight=False,
        )
        console.print(rec.tie_break, style="dim", highlight=False)
    console.print(rec.message, highlight=False)
    for miss in rec.near_misses:
        console.print(f"  closest: {miss.summary}", highlight=False)
    for relaxation in rec.relaxations:
        console.print(f"  try: {relaxation}", highlight=False)


@friendly_errors
def recommend(
    use_case: UseCase = None,
    users: Users = None,
    qps: Qps = None,
    prompt_tokens: Prompt = None,
    output_tokens: Output = None,
    ttft: Ttft = None,
    itl: Itl = None,
    e2e: E2e = None,
    budget: Budget = None,
    priority: PriorityOpt = Priority.BALANCED,
    gpu: Gpus = None,
    exclude_gpu: ExcludeGpus = None,
    model: Models = None,
    exclude_model: ExcludeModels = None,
    quantization: Quants = None,
    pricing: Pricing = PricingModel.ON_DEMAND,
    deployment_model: Ownership = DeploymentModel.CLOUD_RENTAL,
    power_cost: Power = None,
    headroom: Headroom = 1.2,
    max_gpus: MaxGpus = None,
    approved_only: Annotated[bool, typer.Option(help="Only production-approved models")] = False,
    top: Top = 5,
    as_json: AsJson = False,
) -> None:
    """Ranked, costed options meeting the p95 SLOs: `compass recommend -u chatbot_conversational --users 1000`."""
    spec = build_spec(
        use_case=use_case,
        users=users,
        qps=qps,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        ttft_p95_ms=ttft,
        itl_p95_ms=itl,
        e2e_p95_ms=e2e,
        budget_usd_month=budget,
        priority=priority,
        gpus=gpu,
        exclude_gpus=exclude_gpu,
        models=model,
        exclude_models=exclude_model,
        quantizations=quantization,
        pricing_model=pricing,
        deployment_model=deployment_model,
        power_cost=power_cost,
        headroom=headroom,
        max_gpus=max_gpus,
        approved_only=approved_only,
        top_k=top,
    )
    rec = PlanningService(open_database()).recommend(spec)
    if as_json:
        console.print_json(rec.model_dump_json())
    else:
        print_recommendation(rec)


_WHATIF_KEYS = {
    "traffic": "traffic_factor",
    "ttft": "ttft",
    "itl": "itl",
    "e2e": "e2e",
    "gpus": "only_gpus",
    "exclude": "exclude_gpus",
    "quant": "quantization",
    "budget": "budget_usd_month",
    "label": "label",
}


def parse_whatif(text: str) -> WhatIf:
    """`traffic=2`, `ttft=300`, `gpus=L4|A10G`, `exclude=H100`, `quant=fp8`, `budget=5000`, comma-separated."""
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in _WHATIF_KEYS:
            raise ValidationFailedError(
                f"cannot read what-if {part!r}: use key=value with keys {', '.join(_WHATIF_KEYS)}"
            )
        if key in ("ttft", "itl", "e2e"):
            values["slo_metric"], values["slo_ms"] = key, value
        elif key in ("gpus", "exclude"):
            values[_WHATIF_KEYS[key]] = [g.strip() for g in value.split("|") if g.strip()]
        else:
            values[_WHATIF_KEYS[key]] = value
    try:
        return WhatIf.model_validate(values)
    except ValueError as exc:
        raise ValidationFailedError(f"cannot read what-if {text!r}: {exc}") from exc


def print_comparison(comparison: ScenarioComparison) -> None:
    table = Table("scenario", "QPS", "TTFT/ITL/E2E targets", "viable", "top option", "$/month", "TTFT p95")
    for s in comparison.scenarios:
        top = s.top
        table.add_row(
            s.label,
            f"{s.qps:.2f}",
            f"{s.ttft_target_ms:g}/{s.itl_target_ms:g}/{s.e2e_target_ms:g} ms",
            str(s.viable),
            top.label if top else "none",
            f"{top.cost.monthly_usd:,.0f}" if top else "-",
            f"{top.predicted.ttft_p95_ms:.0f} ms" if top else "-",
        )
    console.print(table)
    for d in comparison.deltas:
        money = f"{d.monthly_usd:+,.0f} $/month" if d.monthly_usd is not None else "n/a"
        console.print(
            f"{d.label} vs baseline: {money}, viable {d.viable:+d}; {'; '.join(d.changed) or 'same top choice'}",
            highlight=False,
        )


@friendly_errors
def compare(
    what_if: Annotated[
        list[str], typer.Option("--what-if", "-w", help="Scenario, e.g. 'traffic=2' or 'ttft=300,gpus=L4'")
    ],
    use_case: UseCase = None,
    users: Users = None,
    qps: Qps = None,
    ttft: Ttft = None,
    itl: Itl = None,
    e2e: E2e = None,
    budget: Budget = None,
    priority: PriorityOpt = Priority.BALANCED,
    gpu: Gpus = None,
    as_json: AsJson = False,
) -> None:
    """Compare the baseline spec with what-if scenarios side by side, with the differences computed."""
    spec = build_spec(
        use_case=use_case,
        users=users,
        qps=qps,
        ttft_p95_ms=ttft,
        itl_p95_ms=itl,
        e2e_p95_ms=e2e,
        budget_usd_month=budget,
        priority=priority,
        gpus=gpu,
    )
    comparison = PlanningService(open_database()).what_if(spec, [parse_whatif(w) for w in what_if])
    if as_json:
        console.print_json(comparison.model_dump_json())
    else:
        print_comparison(comparison)


@friendly_errors
def plan_command(
    model: Annotated[str, typer.Option("--model", help="Model HF repo id or short name")],
    gpu: Annotated[str, typer.Option("--gpu", help="GPU name or alias")],
    use_case: UseCase = None,
    users: Users = None,
    qps: Qps = None,
    prompt_tokens: Prompt = None,
    output_tokens: Output = None,
    ttft: Ttft = None,
    itl: Itl = None,
    e2e: E2e = None,
    pricing: Pricing = PricingModel.ON_DEMAND,
    as_json: AsJson = False,
) -> None:
    """Capacity plan for one explicit model on one GPU type: every TP degree and format, or why none fits."""
    spec = build_spec(
        use_case=use_case,
        users=users,
        qps=qps,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        ttft_p95_ms=ttft,
        itl_p95_ms=itl,
        e2e_p95_ms=e2e,
        models=[model],
        gpus=[gpu],
        pricing_model=pricing,
        top_k=20,
        priority=Priority.COST,
    )
    rec = PlanningService(open_database()).recommend(spec)
    if as_json:
        console.print(json.dumps(rec.model_dump(mode="json"), indent=1))
    else:
        print_recommendation(rec)
