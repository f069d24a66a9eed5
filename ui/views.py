"""What the chat shows, built from graph state and service records: specification card, charts, comparisons,
deployment cards and tool-step summaries. Pure functions (Markdown text and Plotly figures), no Chainlit."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from kb.errors import NotFoundError
from kb.repositories.catalog import CatalogSnapshot
from kb.repositories.deployments import DeploymentRecord, OutcomeRecord
from tools.inference_probe import ProbeResult
from tools.specs import PlanOption, Recommendation
from tools.whatif import ScenarioComparison

PASS, FAIL = "✓", "✗"
MISSING = "\u2013"  # an en dash: no value
STATUS_BADGES = {
    "running": "**● running**",
    "starting": "**◐ starting**",
    "failed": "**✕ failed**",
    "stopped": "○ stopped",
    "written": "**● manifests written**",
    "deleted": "○ deleted",
}
NODE_LABELS = {
    "understand": "Understand the request",
    "clarify": "Clarify",
    "recommend": "Capacity planner",
    "explore": "Explore options",
    "deploy": "Deploy",
}
_YAML_BLOCK = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)


def ms(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:,.0f} ms"


def usd(value: float | None) -> str:
    return MISSING if value is None else f"${value:,.0f}"


def _label(name: str) -> str:
    return name.replace("_", " ")


def use_case_name(use_case: str | None, catalog: CatalogSnapshot | None) -> str:
    if not use_case:
        return "custom workload"
    if catalog is not None:
        try:
            return catalog.template(use_case).display_name
        except NotFoundError:
            pass
    return _label(use_case)


# --- specification -------------------------------------------------------------------------------------------


def spec_card(values: Mapping[str, Any], catalog: CatalogSnapshot | None = None) -> str | None:
    """The deployment specification as a two-column card: what the planner used and which values the user set."""
    raw = values.get("recommendation")
    if not raw:
        return None
    rec = Recommendation.model_validate(raw)
    intent: Mapping[str, Any] = values.get("intent") or {}
    spec = rec.spec

    def source(field: str) -> str:
        return "" if intent.get(field) is not None else " (default)"

    load = f"{spec.qps:,.2f} requests/s at peak"
    if spec.users is not None:
        load = f"{spec.users:,} users → {load}"
    gpus = ", ".join(intent.get("gpus") or []) or "any"
    if intent.get("exclude_gpus"):
        gpus += f" (excluding {', '.join(intent['exclude_gpus'])})"
    budget = f"{usd(intent['budget_usd_month'])}/month" if intent.get("budget_usd_month") else "no budget"
    slo = spec.slo
    rows = [
        ("Use case", use_case_name(spec.use_case, catalog)),
        ("Traffic", f"{spec.traffic.prompt_tokens:,} → {spec.traffic.output_tokens:,} tokens per request; {load}"),
        (
            "p95 targets",
            f"TTFT ≤ {ms(slo.ttft_p95_ms)}{source('ttft_p95_ms')} · ITL ≤ {ms(slo.itl_p95_ms)}{source('itl_p95_ms')} · "
            f"E2E ≤ {ms(slo.e2e_p95_ms)}{source('e2e_p95_ms')}",
        ),
        ("Cost", f"{budget}; {rec.priority.value} priority; {_label(str(intent.get('pricing_model') or 'on_demand'))}"),
        ("GPUs", gpus),
    ]
    body = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        "| Deployment specification | |\n|---|---|\n" + body + "\n\n"
        '_Change it in **Settings** (the gear by the message box) or just say it, e.g. "TTFT 300 ms is fine"._'
    )


# --- recommendation chart ------------------------------------------------------------------------------------


def recommendation_chart(rec: Recommendation) -> go.Figure:
    """Cost vs p95 TTFT: the ranked options (pass/fail against the SLOs) and the Pareto frontier highlighted."""
    figure = go.Figure()
    frontier = sorted(rec.pareto, key=lambda p: p.ttft_p95_ms)
    if frontier:
        figure.add_trace(
            go.Scatter(
                x=[p.ttft_p95_ms for p in frontier],
                y=[p.monthly_usd for p in frontier],
                mode="lines+markers",
                name="Pareto frontier (no option is both cheaper and faster)",
                line={"color": "#f59e0b", "width": 3},
                marker={"size": 9, "color": "#f59e0b"},
                customdata=[[p.label, p.itl_p95_ms, p.e2e_p95_ms] for p in frontier],
                hovertemplate=(
                    "%{customdata[0]}<br>p95 TTFT %{x:,.0f} ms · ITL %{customdata[1]:.1f} ms · "
                    "E2E %{customdata[2]:,.0f} ms<br>$%{y:,.0f}/month<extra>frontier</extra>"
                ),
            )
        )
    for meets in (True, False):
        options = [o for o in rec.options if o.compliance.all is meets]
        if not options:
            continue
        figure.add_trace(
            go.Scatter(
                x=[o.predicted.ttft_p95_ms for o in options],
                y=[o.cost.monthly_usd for o in options],
                mode="markers+text",
                name="Ranked options: meet every SLO" if meets else "Ranked options: miss an SLO",
                text=[f"#{o.rank}" for o in options],
                textposition="top center",
                marker={
                    "size": 13,
                    "color": "#2563eb" if meets else "#dc2626",
                    "symbol": ["circle" if o.data_source.value == "benchmarked" else "diamond" for o in options],
                    "line": {"width": 1, "color": "white"},
                },
                customdata=[
                    [o.label, o.predicted.itl_p95_ms, o.predicted.e2e_p95_ms, o.data_source.value, o.replicas]
                    for o in options
                ],
                hovertemplate=(
                    "#%{text} %{customdata[0]} x%{customdata[4]} replicas<br>p95 TTFT %{x:,.0f} ms · "
                    "ITL %{customdata[1]:.1f} ms · E2E %{customdata[2]:,.0f} ms<br>$%{y:,.0f}/month · "
                    "%{customdata[3]}<extra></extra>"
                ),
            )
        )
    target = rec.spec.slo.ttft_p95_ms
    figure.add_vline(
        x=target,
        line={"dash": "dash", "color": "#6b7280"},
        annotation_text=f"TTFT target {ms(target)}",
        annotation_position="top right",
    )
    figure.update_layout(
        title="Cost vs p95 time to first token (● benchmarked, ◆ estimated)",
        xaxis_title="p95 TTFT (ms)",
        yaxis_title="$ per month",
        template="plotly_white",
        height=440,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18},
        hovermode="closest",
    )
    figure.update_yaxes(tickprefix="$", separatethousands=True, rangemode="tozero")
    return figure


# --- scenario comparison -------------------------------------------------------------------------------------


def comparison_table(comparison: ScenarioComparison) -> str:
    """Scenarios side by side, one column each, with the difference from the first one."""
    scenarios = comparison.scenarios
    deltas = {d.label: d for d in comparison.deltas}
    header = "| | " + " | ".join(f"**{s.label}**" for s in scenarios) + " |\n|---|" + "---|" * len(scenarios)

    def row(name: str, cells: Sequence[str]) -> str:
        return f"| {name} | " + " | ".join(cells) + " |"

    def changed(label: str) -> str:
        delta = deltas.get(label)
        if delta is None:
            return "baseline"
        money = f"{delta.monthly_usd:+,.0f} $/month" if delta.monthly_usd is not None else "n/a"
        return f"{money}; {'; '.join(delta.changed) or 'same top choice'}"

    rows = [
        row("requests/s", [f"{s.qps:,.2f}" for s in scenarios]),
        row(
            "p95 targets",
            [f"{ms(s.ttft_target_ms)} / {ms(s.itl_target_ms)} / {ms(s.e2e_target_ms)}" for s in scenarios],
        ),
        row("viable options", [str(s.viable) for s in scenarios]),
        row("top option", [s.top.label if s.top else "none" for s in scenarios]),
        row(
            "replicas x GPUs",
            [f"{s.top.replicas} x {s.top.gpus_total // s.top.replicas}" if s.top else MISSING for s in scenarios],
        ),
        row("$/month", [usd(s.top.cost.monthly_usd) if s.top else MISSING for s in scenarios]),
        row("p95 TTFT / ITL / E2E", [_latencies(s.top) if s.top else MISSING for s in scenarios]),
        row("vs first", [changed(s.label) if i else MISSING for i, s in enumerate(scenarios)]),
    ]
    return "### Scenarios side by side\n" + header + "\n" + "\n".join(rows)


def _latencies(option: PlanOption) -> str:
    p = option.predicted
    return f"{ms(p.ttft_p95_ms)} / {p.itl_p95_ms:.1f} ms / {ms(p.e2e_p95_ms)}"


def comparison_chart(comparison: ScenarioComparison) -> go.Figure:
    """Monthly cost of each scenario's best option, with its p95 TTFT against the target."""
    labels = [s.label for s in comparison.scenarios]
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=labels,
            y=[s.top.cost.monthly_usd if s.top else 0 for s in comparison.scenarios],
            name="$ per month (best option)",
            text=[s.top.label if s.top else "no viable option" for s in comparison.scenarios],
            marker_color="#2563eb",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=[s.top.predicted.ttft_p95_ms if s.top else None for s in comparison.scenarios],
            name="p95 TTFT (ms)",
            mode="markers+lines",
            yaxis="y2",
            marker={"size": 11, "color": "#f59e0b"},
        )
    )
    figure.update_layout(
        title="Scenario comparison",
        template="plotly_white",
        height=380,
        yaxis={"title": "$ per month", "tickprefix": "$", "rangemode": "tozero"},
        yaxis2={"title": "p95 TTFT (ms)", "overlaying": "y", "side": "right", "rangemode": "tozero"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2},
        margin={"l": 60, "r": 60, "t": 50, "b": 40},
    )
    return figure


# --- manifests -----------------------------------------------------------------------------------------------


def yaml_in(text: str) -> str | None:
    """The YAML a reply shows in a fenced block (the manifests), if any."""
    found = _YAML_BLOCK.search(text)
    return found.group(1) if found else None


# --- deployments ---------------------------------------------------------------------------------------------


def deployment_card(record: DeploymentRecord, outcomes: Sequence[OutcomeRecord]) -> str:
    """One deployment: status, endpoint and predicted vs the latest probed p95 latency."""
    spec = record.spec
    latest = outcomes[-1] if outcomes else None
    lines = [
        f"### {record.id}",
        f"{STATUS_BADGES.get(record.status, record.status)} · target `{record.target}`"
        + (f" · namespace `{record.namespace}`" if record.namespace else ""),
        f"- **{spec.get('model', '?')}** on {spec.get('tensor_parallel', '?')}x {spec.get('gpu', '?')}"
        + (f" ({spec.get('quantization')})" if spec.get("quantization") else ""),
        f"- endpoint: `{record.endpoint}`" if record.endpoint else "- endpoint: none",
    ]
    if record.manifests_path:
        lines.append(f"- manifests: `{record.manifests_path}`")
    if record.message:
        lines.append(f"- {record.message}")
    measured = (latest.ttft_p95_ms, latest.itl_p95_ms, latest.e2e_p95_ms) if latest is not None else (None, None, None)
    predicted = (spec.get("predicted_ttft_p95_ms"), spec.get("predicted_itl_p95_ms"), spec.get("predicted_e2e_p95_ms"))
    probed = f"probed {latest.measured_at:%Y-%m-%d %H:%M}" if latest and latest.measured_at else "not probed yet"
    lines += ["", f"| p95 | predicted | measured ({probed}) |", "|---|---|---|"]
    for name, want, got in zip(("TTFT", "ITL", "E2E"), predicted, measured, strict=True):
        lines.append(f"| {name} | {_latency(name, want)} | {_latency(name, got)} |")
    return "\n".join(lines)


def _latency(metric: str, value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{value:.1f} ms" if metric == "ITL" else ms(value)


def probe_report(deployment_id: str, result: ProbeResult) -> str:
    """A probe's measurements next to the prediction, and a sample of what the endpoint answered."""
    lines = [f"### Probe of {deployment_id}", result.summary()]
    if result.comparisons:
        lines += ["", "| metric | predicted | measured p95 | difference | within tolerance |", "|---|---|---|---|---|"]
        for c in result.comparisons:
            verdict = PASS if c.within_tolerance else FAIL
            lines.append(
                f"| {c.metric} | {c.predicted_ms:,.1f} ms | {c.measured_p95_ms:,.1f} ms "
                f"| {c.difference_pct:+.0f}% | {verdict} |"
            )
    if result.sample_text:
        sample = " ".join(result.sample_text.split())[:400]
        lines += ["", f"> {sample}"]
    return "\n".join(lines)


# --- tool steps ----------------------------------------------------------------------------------------------


def _stated(intent: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in intent.items() if v not in (None, [], "")}


def step_details(node: str, values: Mapping[str, Any], said: str | None, result: Mapping[str, Any]) -> tuple[str, str]:
    """What a graph node received and produced this turn, as JSON/Markdown for its step."""
    rec = values.get("recommendation") or {}
    pending = result.get("pending") or {}
    replies: list[str] = list(result.get("replies") or [])
    if node == "understand":
        return json.dumps({"message": said}), json.dumps({"intent": _stated(values.get("intent") or {})}, indent=1)
    if node == "clarify":
        asked = {"asked so far": values.get("asked") or []}
        question = pending.get("question") if pending.get("type") == "question" else None
        return json.dumps(asked), question or "Nothing more to ask: planning with what is known."
    if node == "recommend":
        spec = {**rec.get("spec", {}), "priority": rec.get("priority")}
        spec.pop("notes", None)
        options = rec.get("options") or []
        top = [
            {"rank": o["rank"], "option": f"{o['model_name']} on {o['gpus_total']}x {o['gpu']}",
             "$/month": round(o["cost"]["monthly_usd"]), "meets SLOs": o["compliance"]["ttft"]
             and o["compliance"]["itl"] and o["compliance"]["e2e"]}
            for o in options[:5]
        ]  # fmt: skip
        planned = {
            "viable": rec.get("total_viable"),
            "considered": rec.get("considered"),
            "top": top,
            "pareto points": len(rec.get("pareto") or []),
        }
        return json.dumps(spec, indent=1), json.dumps(planned, indent=1)
    if node == "deploy":
        deployed = (values.get("deployments") or [])[-1:]
        waiting = pending.get("question") if pending.get("type") == "approval" else None
        done = json.dumps(deployed[0], indent=1) if deployed else (replies[-1] if replies else "")
        return json.dumps({"message": said}), str(waiting or done)
    first = replies[0].splitlines()[0] if replies else ""
    return json.dumps({"message": said}), first
