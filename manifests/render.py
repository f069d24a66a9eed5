"""Render a `DeploymentContext` into a validated `ManifestBundle` through the Jinja2 templates in `templates/`.

    bundle = render_bundle(ctx)            # raises ManifestValidationError if any object is invalid
    print(bundle.to_yaml())                # multi-document YAML
    bundle.write("out/llama")              # one file per object + kustomization.yaml

Templates are `*.yaml.j2` files rendered with StrictUndefined (a missing variable is an error, never an empty
string) and autoescape off (the output is YAML, not HTML). Every string scalar goes through the `q` filter,
which leaves plain-safe words as they are and double-quotes anything YAML could misread (numbers, booleans,
'yes', values with ': ' or '#'), so no context value can change the document's structure.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined

from manifests.bundle import ManifestBundle, RenderedObject
from manifests.context import DeploymentContext
from manifests.dashboard import build_dashboard
from manifests.validate import DEFAULT_KUBERNETES_VERSION, validate_objects

HPA_METRIC = "vllm_num_requests_waiting"
"""Custom-metrics name prometheus-adapter exposes for `vllm:num_requests_waiting` (see PROMETHEUS_ADAPTER_RULE)."""
PROMETHEUS_ADAPTER_RULE = """\
- seriesQuery: 'vllm:num_requests_waiting{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: "^vllm:(.*)$"
    as: "vllm_${1}"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
"""
"""The prometheus-adapter `rules` entry the HPA needs (KEDA needs none: it queries Prometheus itself)."""
BENCHMARKS_DIR = "/etc/compass/benchmarks"
BENCHMARKS_FILE = "benchmarks.json"

_PLAIN = re.compile(r"^(?:--?[A-Za-z]|/|[A-Za-z])[A-Za-z0-9_./:-]*$")
_YAML_WORDS = frozenset(
    word
    for base in ("y", "n", "yes", "no", "true", "false", "on", "off", "null", "~")
    for word in (base, base.capitalize(), base.upper())
)
"""Plain scalars YAML 1.1 (PyYAML, many Kubernetes tools) reads as booleans or null."""

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (10x faster), else the pure-Python safe loader."""


def yaml_quote(value: object) -> str:
    """`value` as a YAML scalar: plain when unambiguous, else double-quoted with YAML escapes."""
    text = str(value)
    if _PLAIN.match(text) and text not in _YAML_WORDS and not text.endswith(":"):
        return text
    return '"' + "".join(_ESCAPES.get(char) or _escape(char) for char in text) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\"}
_NOT_RAW = frozenset("\u0085\u2028\u2029\ufeff\ufffe\uffff")
"""Characters YAML treats as line breaks or marks, or does not allow raw: always escaped."""


def _escape(char: str) -> str:
    code = ord(char)
    if 0x20 <= code < 0x7F or (code >= 0xA0 and char not in _NOT_RAW and not 0xD800 <= code <= 0xDFFF):
        return char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def json_block(data: object, *, indent: int | None = None) -> str:
    """JSON for a YAML literal block: ASCII only (JSON escapes the rest, including DEL), so YAML keeps it verbatim."""
    text = json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=True, separators=None if indent else (",", ":"))
    return text.replace("\x7f", "\\u007f")


@functools.cache
def environment() -> Environment:
    """The Jinja2 environment, created once; its template cache makes later renders cheap."""
    env = Environment(
        loader=PackageLoader("manifests", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["q"] = yaml_quote
    return env


def _labels(ctx: DeploymentContext, component: str) -> dict[str, str]:
    image = ctx.simulator_image if ctx.simulator_mode else ctx.vllm_image
    version = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    labels = {
        "app.kubernetes.io/name": "vllm-simulator" if ctx.simulator_mode else "vllm",
        "app.kubernetes.io/instance": ctx.deployment_id,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "compass",
        "app.kubernetes.io/managed-by": "compass",
        "compass.io/deployment-id": ctx.deployment_id,
        "compass.io/mode": "simulator" if ctx.simulator_mode else "gpu",
    }
    if re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", version):
        labels["app.kubernetes.io/version"] = version
    labels.update(ctx.labels)
    return labels


def _ms(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _isvc_annotations(ctx: DeploymentContext) -> dict[str, str]:
    annotations = {
        "serving.kserve.io/deploymentMode": "RawDeployment",
        "serving.kserve.io/autoscalerClass": "none" if ctx.autoscaler == "none" else "external",
        "compass.io/model": ctx.model.hf_repo,
        "compass.io/served-model-name": ctx.model.api_name,
        "compass.io/gpu": ctx.gpu.name,
        "compass.io/gpus-per-replica": str(ctx.gpus_per_replica),
        "compass.io/quantization": ctx.quantization.value,
        "compass.io/autoscaler": ctx.autoscaler,
        "compass.io/simulator": "true" if ctx.simulator_mode else "false",
        "compass.io/slo-ttft-p95-ms": _ms(ctx.slo.ttft_p95_ms),
        "compass.io/slo-itl-p95-ms": _ms(ctx.slo.itl_p95_ms),
        "compass.io/slo-e2e-p95-ms": _ms(ctx.slo.e2e_p95_ms),
    }
    if ctx.predicted is not None:
        annotations["compass.io/predicted-ttft-p95-ms"] = _ms(ctx.predicted.ttft_p95_ms)
        annotations["compass.io/predicted-itl-p95-ms"] = _ms(ctx.predicted.itl_p95_ms)
        annotations["compass.io/predicted-e2e-p95-ms"] = _ms(ctx.predicted.e2e_p95_ms)
        if ctx.predicted.source is not None:
            annotations["compass.io/prediction-source"] = ctx.predicted.source
    if ctx.cost is not None:
        annotations["compass.io/cost-usd-per-month"] = f"{ctx.cost.usd_per_month:.2f}"
        annotations["compass.io/cost-usd-per-hour"] = f"{ctx.cost.usd_per_hour:.4f}"
    annotations.update(ctx.annotations)
    return annotations


def _vllm_args(ctx: DeploymentContext) -> list[str]:
    args = [
        "--model",
        ctx.model.hf_repo,
        "--served-model-name",
        ctx.model.api_name,
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
        "--tensor-parallel-size",
        str(ctx.tensor_parallel),
        "--max-model-len",
        str(ctx.vllm.max_model_len),
        "--gpu-memory-utilization",
        f"{ctx.vllm.gpu_memory_utilization:g}",
        "--max-num-seqs",
        str(ctx.vllm.max_num_seqs),
    ]
    method = ctx.effective_quantization_method
    if method is not None:
        args += ["--quantization", method]
    return args + list(ctx.vllm.extra_args)


def _ingress_view(ctx: DeploymentContext) -> dict[str, Any]:
    ingress = ctx.ingress
    assert ingress is not None
    annotations: dict[str, str] = dict(ctx.annotations)
    path, path_type = ingress.path, "Prefix"
    if ingress.class_name == "nginx":
        # Streaming responses: no buffering, long reads; strip the path prefix before it reaches vLLM.
        annotations["nginx.ingress.kubernetes.io/proxy-buffering"] = "off"
        annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "600"
        annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "600"
        if ingress.path != "/":
            prefix = ingress.path.rstrip("/")
            annotations["nginx.ingress.kubernetes.io/use-regex"] = "true"
            annotations["nginx.ingress.kubernetes.io/rewrite-target"] = "/$2"
            path, path_type = f"{prefix}(/|$)(.*)", "ImplementationSpecific"
    annotations.update(ingress.annotations)
    return {"ingress_annotations": annotations, "ingress_path": path, "ingress_path_type": path_type}


def _variables(ctx: DeploymentContext) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "ctx": ctx,
        "names": ctx.names,
        "labels": functools.partial(_labels, ctx),
        "resources": ctx.effective_resources,
        "isvc_annotations": _isvc_annotations(ctx),
        "vllm_args": _vllm_args(ctx),
        "benchmarks_dir": BENCHMARKS_DIR,
        "benchmarks_path": f"{BENCHMARKS_DIR}/{BENCHMARKS_FILE}",
        "hpa_metric": HPA_METRIC,
        "target_waiting": f"{ctx.autoscale_target_waiting:g}",  # a Quantity for HPA, a float for KEDA
        "keda_query": f"sum(vllm:num_requests_waiting{{{ctx.promql_selector}}})",
        "service_monitor_labels": {**_labels(ctx, "monitoring"), **ctx.monitoring.service_monitor_labels},
        "dashboard_labels": {**_labels(ctx, "dashboard"), "grafana_dashboard": "1"},
        "dashboard_file": f"compass-{ctx.deployment_id}.json",
    }
    if ctx.ingress is not None:
        variables.update(_ingress_view(ctx))
    return variables


def template_names(ctx: DeploymentContext) -> list[str]:
    """Which templates make up this deployment, in apply order."""
    templates = []
    if ctx.simulator_mode and ctx.simulator_benchmarks:
        templates.append("simulator-benchmarks.yaml.j2")
    templates.append("inferenceservice.yaml.j2")
    if ctx.autoscaler == "hpa":
        templates.append("hpa.yaml.j2")
    elif ctx.autoscaler == "keda":
        templates.append("keda-scaledobject.yaml.j2")
    if ctx.monitoring.service_monitor:
        templates.append("servicemonitor.yaml.j2")
    if ctx.ingress is not None:
        templates.append("ingress.yaml.j2")
    if ctx.network_policy:
        templates.append("networkpolicy.yaml.j2")
    if ctx.monitoring.grafana_dashboard:
        templates.append("grafana-dashboard.yaml.j2")
    return templates


def _parse(template: str, text: str) -> RenderedObject:
    document = yaml.load(text, Loader=_Loader)
    if not isinstance(document, dict):
        raise TypeError(f"template {template} did not render a YAML mapping")
    metadata = document.get("metadata", {})
    return RenderedObject(
        kind=str(document.get("kind", "")),
        api_version=str(document.get("apiVersion", "")),
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace", "")),
        yaml_text=text,
        document=document,
    )


def render_objects(ctx: DeploymentContext) -> list[RenderedObject]:
    """Render every template for `ctx` without validating (see `render_bundle`)."""
    env = environment()
    variables = _variables(ctx)
    if ctx.monitoring.grafana_dashboard:
        variables["dashboard_json"] = json_block(build_dashboard(ctx), indent=2)
    if ctx.simulator_mode and ctx.simulator_benchmarks:
        rows = [row.model_dump(mode="json", exclude_none=True) for row in ctx.simulator_benchmarks]
        variables["benchmarks_file"] = BENCHMARKS_FILE
        variables["benchmarks_json"] = json_block(rows)
    objects = []
    for template in template_names(ctx):
        text = env.get_template(template).render(variables)
        objects.append(_parse(template, text))
    return objects


def render_bundle(
    ctx: DeploymentContext, *, validate: bool = True, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> ManifestBundle:
    """Render and (by default) validate every object of the deployment; raises ManifestValidationError."""
    objects = render_objects(ctx)
    if validate:
        validate_objects(objects, kubernetes_version=kubernetes_version)
    return ManifestBundle(deployment_id=ctx.deployment_id, namespace=ctx.namespace, objects=tuple(objects))
