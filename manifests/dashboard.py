"""The Grafana dashboard of one deployment, built as a Python dict from vLLM's Prometheus metrics.

Latency panels show p95 (histogram_quantile over 5-minute rates of vLLM's histograms) in milliseconds with the
SLO target drawn as a red threshold line and, when Compass predicted it, the predicted p95 as a dashed series.
Metric names follow /work/shared/samples/vllm/METRICS.md: ITL uses `vllm:inter_token_latency_seconds` (vLLM
0.11+) and falls back to `vllm:time_per_output_token_seconds`; KV-cache usage is `vllm:kv_cache_usage_perc`
with the pre-0.9 `vllm:gpu_cache_usage_perc` as fallback.
"""

from __future__ import annotations

from typing import Any

from manifests.context import DeploymentContext

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24
PANEL_WIDTH = 8
PANEL_HEIGHT = 8
MAX_UID_LENGTH = 40


def _p95_ms(selector: str, *metrics: str) -> str:
    """p95 in milliseconds of the first histogram in `metrics` that has series (later names are fallbacks)."""
    rates = " or ".join(f"sum by (le) (rate({metric}_bucket{{{selector}}}[5m]))" for metric in metrics)
    return f"histogram_quantile(0.95, {rates}) * 1000"


def _target(ref: str, expr: str, legend: str) -> dict[str, Any]:
    return {"refId": ref, "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}


def _panel(
    panel_id: int,
    title: str,
    unit: str,
    targets: list[dict[str, Any]],
    *,
    threshold: float | None = None,
    maximum: float | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    custom: dict[str, Any] = {"lineWidth": 2, "fillOpacity": 10, "spanNulls": True}
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
        custom["thresholdsStyle"] = {"mode": "line"}
    else:
        custom["thresholdsStyle"] = {"mode": "off"}
    defaults: dict[str, Any] = {
        "unit": unit,
        "min": 0,
        "thresholds": {"mode": "absolute", "steps": steps},
        "custom": custom,
    }
    if maximum is not None:
        defaults["max"] = maximum
    index = panel_id - 1
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {
            "h": PANEL_HEIGHT,
            "w": PANEL_WIDTH,
            "x": (index * PANEL_WIDTH) % GRID_WIDTH,
            "y": (index * PANEL_WIDTH) // GRID_WIDTH * PANEL_HEIGHT,
        },
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
        "targets": targets,
    }


def _dashed(series: str) -> dict[str, Any]:
    return {
        "matcher": {"id": "byName", "options": series},
        "properties": [
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "blue"}},
        ],
    }


def _latency_panel(
    panel_id: int, ctx: DeploymentContext, name: str, target_ms: float, predicted_ms: float | None, *metrics: str
) -> dict[str, Any]:
    targets = [_target("A", _p95_ms(ctx.promql_selector, *metrics), f"{name} p95")]
    overrides = []
    if predicted_ms is not None:
        legend = f"predicted {name} p95"
        targets.append(_target("B", f"vector({predicted_ms:g})", legend))
        overrides.append(_dashed(legend))
    title = f"{name} p95 (SLO {target_ms:g} ms)"
    return _panel(panel_id, title, "ms", targets, threshold=target_ms, overrides=overrides)


def build_dashboard(ctx: DeploymentContext) -> dict[str, Any]:
    """The dashboard as a dict; the renderer serialises it with `json.dumps` into the ConfigMap."""
    sel = ctx.promql_selector
    predicted = ctx.predicted
    panels = [
        _latency_panel(
            1,
            ctx,
            "TTFT",
            ctx.slo.ttft_p95_ms,
            predicted.ttft_p95_ms if predicted else None,
            "vllm:time_to_first_token_seconds",
        ),
        _latency_panel(
            2,
            ctx,
            "ITL",
            ctx.slo.itl_p95_ms,
            predicted.itl_p95_ms if predicted else None,
            "vllm:inter_token_latency_seconds",
            "vllm:time_per_output_token_seconds",
        ),
        _latency_panel(
            3,
            ctx,
            "E2E",
            ctx.slo.e2e_p95_ms,
            predicted.e2e_p95_ms if predicted else None,
            "vllm:e2e_request_latency_seconds",
        ),
        _panel(
            4,
            "Requests running / waiting",
            "short",
            [
                _target("A", f"sum(vllm:num_requests_running{{{sel}}})", "running"),
                _target("B", f"sum(vllm:num_requests_waiting{{{sel}}})", "waiting"),
                _target("C", f"count(vllm:num_requests_running{{{sel}}})", "replicas"),
            ],
        ),
        _panel(
            5,
            "KV-cache usage",
            "percentunit",
            [
                _target(
                    "A",
                    f"max by (pod) (vllm:kv_cache_usage_perc{{{sel}}} or vllm:gpu_cache_usage_perc{{{sel}}})",
                    "{{pod}}",
                )
            ],
            threshold=0.9,
            maximum=1,
        ),
        _panel(
            6,
            "Tokens per second",
            "short",
            [
                _target("A", f"sum(rate(vllm:generation_tokens_total{{{sel}}}[1m]))", "output tokens/s"),
                _target("B", f"sum(rate(vllm:prompt_tokens_total{{{sel}}}[1m]))", "prompt tokens/s"),
                _target("C", f"sum(rate(vllm:request_success_total{{{sel}}}[1m]))", "requests/s"),
            ],
        ),
    ]
    mode = "simulator" if ctx.simulator_mode else f"{ctx.gpus_per_replica}x {ctx.gpu.name}"
    return {
        "uid": f"compass-{ctx.deployment_id}"[:MAX_UID_LENGTH].rstrip("-"),
        "title": f"Compass / {ctx.deployment_id} ({ctx.model.api_name}, {mode})",
        "description": f"vLLM serving {ctx.model.hf_repo} in namespace {ctx.namespace}, deployed by Compass",
        "tags": ["compass", "vllm", ctx.deployment_id],
        "timezone": "browser",
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                }
            ]
        },
        "panels": panels,
    }
