"""What the templates put in each object, per mode; the bundle's YAML stream and folder output; quoting."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.domain import BenchmarkRecord
from manifests import ManifestBundle, render_bundle
from manifests.render import environment, yaml_quote
from tests.manifests.contexts import HF_TOKEN_LOOKALIKE, MI300X, context, scenario


def predictor(bundle: ManifestBundle) -> dict[str, Any]:
    spec: dict[str, Any] = bundle.get("InferenceService").document["spec"]["predictor"]
    return spec


def container(bundle: ManifestBundle) -> dict[str, Any]:
    result: dict[str, Any] = predictor(bundle)["containers"][0]
    return result


def env(bundle: ManifestBundle) -> dict[str, Any]:
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container(bundle)["env"]}


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


# --- InferenceService, real GPUs ----------------------------------------------------------------------------


def test_gpu_inference_service_runs_vllm_with_the_planned_engine_arguments() -> None:
    bundle = render_bundle(scenario("gpu-hpa"))
    isvc = bundle.get("InferenceService").document
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    c = container(bundle)
    assert c["name"] == "kserve-container" and c["image"] == "vllm/vllm-openai:v0.11.0"
    args = c["args"]
    assert flag(args, "--model") == "meta-llama/Llama-3.1-8B-Instruct"
    assert flag(args, "--served-model-name") == "llama-3.1-8b"
    assert flag(args, "--tensor-parallel-size") == "2"
    assert flag(args, "--max-model-len") == "8192"
    assert flag(args, "--gpu-memory-utilization") == "0.9"
    assert flag(args, "--max-num-seqs") == "256"
    assert flag(args, "--quantization") == "fp8"
    assert flag(args, "--port") == "8080"
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": 8080}


def test_gpu_inference_service_requests_gpus_on_matching_nodes() -> None:
    bundle = render_bundle(scenario("gpu-hpa"))
    spec, c = predictor(bundle), container(bundle)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert c["resources"]["requests"]["nvidia.com/gpu"] == "2"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert spec["minReplicas"] == 1 and spec["maxReplicas"] == 4
    assert {"name": "dshm", "mountPath": "/dev/shm"} in c["volumeMounts"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}} in spec["volumes"]


def test_hf_token_comes_from_a_secret_reference() -> None:
    bundle = render_bundle(scenario("gpu-hpa"))
    assert env(bundle)["HF_TOKEN"] == {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}


def test_no_token_env_without_a_secret() -> None:
    assert "HF_TOKEN" not in env(render_bundle(scenario("gpu-fixed-bf16")))


def test_amd_int4_uses_the_amd_resource_and_awq() -> None:
    bundle = render_bundle(scenario("gpu-keda-ingress-tls"))
    c, spec = container(bundle), predictor(bundle)
    assert c["resources"]["limits"] == {"memory": "128Gi", "amd.com/gpu": "4"}
    assert spec["nodeSelector"] == {MI300X.node_selector_label: MI300X.node_selector_value}
    assert spec["tolerations"][0]["key"] == "amd.com/gpu"
    assert flag(c["args"], "--quantization") == "awq"
    assert c["args"][-1] == "--enable-prefix-caching"


def test_bf16_passes_no_quantization_flag() -> None:
    assert "--quantization" not in container(render_bundle(scenario("gpu-fixed-bf16")))["args"]


def test_labels_and_annotations_record_identity_predictions_targets_and_cost() -> None:
    metadata = render_bundle(scenario("gpu-hpa")).get("InferenceService").document["metadata"]
    labels, annotations = metadata["labels"], metadata["annotations"]
    assert labels["compass.io/deployment-id"] == "llama-chat"
    assert labels["app.kubernetes.io/instance"] == "llama-chat"
    assert labels["app.kubernetes.io/managed-by"] == "compass"
    assert labels["app.kubernetes.io/name"] == "vllm"
    assert annotations["compass.io/predicted-ttft-p95-ms"] == "120.4"
    assert annotations["compass.io/predicted-itl-p95-ms"] == "21.3"
    assert annotations["compass.io/predicted-e2e-p95-ms"] == "5400"
    assert annotations["compass.io/slo-ttft-p95-ms"] == "200"
    assert annotations["compass.io/slo-itl-p95-ms"] == "30"
    assert annotations["compass.io/slo-e2e-p95-ms"] == "8000"
    assert annotations["compass.io/cost-usd-per-month"] == "5234.10"
    assert annotations["compass.io/cost-usd-per-hour"] == "7.1700"
    assert annotations["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert annotations["serving.kserve.io/autoscalerClass"] == "external"


def test_user_labels_reach_every_object() -> None:
    for obj in render_bundle(scenario("gpu-keda-ingress-tls")):
        assert obj.document["metadata"]["labels"]["team"] == "platform", obj.ref
        assert obj.document["metadata"]["annotations"]["owner"] == "ml-platform@example.com", obj.ref


def test_fixed_replicas_tell_kserve_not_to_autoscale() -> None:
    bundle = render_bundle(scenario("gpu-fixed-bf16"))
    annotations = bundle.get("InferenceService").document["metadata"]["annotations"]
    assert annotations["serving.kserve.io/autoscalerClass"] == "none"
    assert bundle.kinds == ["InferenceService"]


# --- InferenceService, simulator ----------------------------------------------------------------------------


def test_simulator_has_no_gpu_anywhere() -> None:
    for name in ("simulator-hpa-path-ingress", "simulator-keda-benchmarks"):
        bundle = render_bundle(scenario(name))
        spec, c = predictor(bundle), container(bundle)
        assert c["image"] == "ghcr.io/compass-llm/vllm-simulator:0.1.0"
        assert "nodeSelector" not in spec and "tolerations" not in spec
        assert set(c["resources"]["requests"]) == {"cpu", "memory"}
        assert set(c["resources"]["limits"]) == {"memory"}
        assert "nvidia.com/gpu" not in bundle.get("InferenceService").yaml_text


def test_simulator_environment_describes_the_simulated_deployment() -> None:
    variables = env(render_bundle(scenario("simulator-hpa-path-ingress")))
    assert variables["MODEL_NAME"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert variables["SERVED_MODEL_NAME"] == "llama-3.1-8b"
    assert variables["GPU_TYPE"] == "H100"
    assert variables["TENSOR_PARALLEL_SIZE"] == "2"
    assert variables["PORT"] == "8080" and variables["HOST"] == "0.0.0.0"
    assert variables["TTFT_MS"] == "120.4" and variables["ITL_MS"] == "21.3"
    assert "BENCHMARKS_PATH" not in variables


def test_simulator_benchmarks_ship_in_a_mounted_configmap() -> None:
    ctx = scenario("simulator-keda-benchmarks")
    bundle = render_bundle(ctx)
    variables = env(bundle)
    assert variables["BENCHMARKS_PATH"] == "/etc/compass/benchmarks/benchmarks.json"
    assert "TTFT_MS" not in variables
    assert bundle.objects[0].kind == "ConfigMap" and bundle.objects[0].name == "sim-bench-benchmarks"
    rows = json.loads(bundle.objects[0].document["data"]["benchmarks.json"])
    assert [BenchmarkRecord.model_validate(row) for row in rows] == ctx.simulator_benchmarks
    assert predictor(bundle)["volumes"] == [{"name": "benchmarks", "configMap": {"name": "sim-bench-benchmarks"}}]


# --- autoscaling, monitoring, ingress, network policy, dashboard ----------------------------------------------


def test_hpa_scales_the_predictor_on_queue_depth() -> None:
    hpa = render_bundle(context(autoscale_target_waiting=2.5)).get("HorizontalPodAutoscaler").document
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "llama-chat-predictor",
    }
    assert hpa["spec"]["minReplicas"] == 1 and hpa["spec"]["maxReplicas"] == 4
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"]["name"] == "vllm_num_requests_waiting"
    assert metric["pods"]["target"] == {"type": "AverageValue", "averageValue": "2.5"}


def test_keda_queries_this_deployments_queue_depth() -> None:
    scaled = render_bundle(scenario("gpu-keda-ingress-tls")).get("ScaledObject").document
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "qwen-coder-predictor"
    assert scaled["spec"]["minReplicaCount"] == 2 and scaled["spec"]["maxReplicaCount"] == 6
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    assert trigger["metadata"]["query"] == (
        'sum(vllm:num_requests_waiting{namespace="code-assist",pod=~"qwen-coder-predictor-.*"})'
    )
    assert trigger["metadata"]["threshold"] == "2.5"  # KEDA parses a float, not a Kubernetes quantity
    assert trigger["metadata"]["serverAddress"] == "http://prometheus-operated.monitoring.svc:9090"


def test_service_monitor_scrapes_the_predictor_metrics() -> None:
    monitor = render_bundle(scenario("gpu-keda-ingress-tls")).get("ServiceMonitor").document
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "qwen-coder"}}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["code-assist"]}
    assert monitor["spec"]["endpoints"] == [
        {"targetPort": 8080, "path": "/metrics", "scheme": "http", "interval": "15s"}
    ]


def test_host_ingress_with_tls() -> None:
    ingress = render_bundle(scenario("gpu-keda-ingress-tls")).get("Ingress").document
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["code.example.com"], "secretName": "code-example-tls"}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "code.example.com"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/" and path["pathType"] == "Prefix"
    assert path["backend"] == {"service": {"name": "qwen-coder-predictor", "port": {"number": 80}}}
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"


def test_path_ingress_without_class_routes_the_prefix() -> None:
    ingress = render_bundle(scenario("simulator-hpa-path-ingress")).get("Ingress").document
    (rule,) = ingress["spec"]["rules"]
    assert "host" not in rule and "tls" not in ingress["spec"] and "ingressClassName" not in ingress["spec"]
    assert rule["http"]["paths"][0]["path"] == "/llama" and rule["http"]["paths"][0]["pathType"] == "Prefix"


def test_nginx_path_ingress_strips_the_prefix() -> None:
    ingress = render_bundle(context(ingress={"path": "/llama/", "class_name": "nginx"})).get("Ingress").document
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert path == {**path, "path": "/llama(/|$)(.*)", "pathType": "ImplementationSpecific"}
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"] == "/$2"


def test_network_policy_admits_own_namespace_and_listed_namespaces_on_8080() -> None:
    policy = render_bundle(scenario("gpu-keda-ingress-tls")).get("NetworkPolicy").document
    assert policy["spec"]["podSelector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "qwen-coder"}}
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    sources = rule["from"]
    assert {"podSelector": {}} in sources
    names = [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in sources[1:]]
    assert names == ["monitoring", "ingress-nginx"]


def test_dashboard_configmap_holds_slo_panels() -> None:
    ctx = scenario("gpu-hpa")
    configmap = render_bundle(ctx).get("ConfigMap", "llama-chat-dashboard").document
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(configmap["data"]["compass-llama-chat.json"])
    panels = {panel["title"].split(" (")[0]: panel for panel in dashboard["panels"]}
    expected = {
        "TTFT p95": ("vllm:time_to_first_token_seconds_bucket", ctx.slo.ttft_p95_ms),
        "ITL p95": ("vllm:inter_token_latency_seconds_bucket", ctx.slo.itl_p95_ms),
        "E2E p95": ("vllm:e2e_request_latency_seconds_bucket", ctx.slo.e2e_p95_ms),
    }
    for title, (histogram, target) in expected.items():
        panel = panels[title]
        expr = panel["targets"][0]["expr"]
        assert expr.startswith("histogram_quantile(0.95, ") and histogram in expr
        assert 'namespace="llm-serving",pod=~"llama-chat-predictor-.*"' in expr
        assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == target
        assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"
        assert panel["fieldConfig"]["defaults"]["unit"] == "ms"
    assert "vllm:time_per_output_token_seconds_bucket" in panels["ITL p95"]["targets"][0]["expr"]
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:generation_tokens_total",
        "vllm:prompt_tokens_total",
    ):
        assert metric in exprs


# --- the bundle as a whole ----------------------------------------------------------------------------------


def test_to_yaml_is_a_multi_document_stream_of_the_objects() -> None:
    bundle = render_bundle(scenario("gpu-keda-ingress-tls"))
    documents = list(yaml.safe_load_all(bundle.to_yaml()))
    assert documents == [obj.document for obj in bundle]
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [(o.kind, o.name) for o in bundle]
    assert all(obj.namespace == "code-assist" for obj in bundle)


def test_write_creates_one_file_per_object_and_a_kustomization(tmp_path: Path) -> None:
    bundle = render_bundle(scenario("simulator-keda-benchmarks"))
    written = bundle.write(tmp_path / "out")
    assert [p.name for p in written[:-1]] == [obj.file_name for obj in bundle]
    kustomization = yaml.safe_load((tmp_path / "out" / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == [obj.file_name for obj in bundle]
    for obj in bundle:
        assert yaml.safe_load((tmp_path / "out" / obj.file_name).read_text()) == obj.document


def test_rendering_is_deterministic() -> None:
    assert render_bundle(scenario("gpu-hpa")).to_yaml() == render_bundle(scenario("gpu-hpa")).to_yaml()


def test_the_environment_is_strict_and_created_once() -> None:
    assert environment() is environment()
    assert environment().undefined is jinja2.StrictUndefined
    assert environment().autoescape is False
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template("hpa.yaml.j2").render({})


def test_no_secret_value_appears_in_any_rendered_output() -> None:
    for name in ("gpu-hpa", "gpu-keda-ingress-tls", "simulator-keda-benchmarks"):
        text = render_bundle(scenario(name)).to_yaml()
        assert not re.search(r"hf_[A-Za-z0-9]{20,}", text)
        assert "kind: Secret" not in text
    text = render_bundle(scenario("gpu-hpa")).to_yaml()
    assert text.count("secretKeyRef") == 1
    assert HF_TOKEN_LOOKALIKE not in text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_yaml_quote_round_trips_any_string(text: str) -> None:
    assert yaml.safe_load(f"key: {yaml_quote(text)}\n") == {"key": text}
    assert yaml.load(f"- {yaml_quote(text)}\n", Loader=yaml.CSafeLoader) == [text]


def test_hostile_free_text_cannot_change_the_document_structure() -> None:
    hostile = 'x"\n  injected: true\nkind: Secret # ' + "\u2028"
    bundle = render_bundle(context(annotations={"note": hostile}, vllm={"extra_args": ["--x=a: b # c"]}))
    isvc = bundle.get("InferenceService").document
    assert isvc["metadata"]["annotations"]["note"] == hostile
    assert "injected" not in isvc["metadata"] and isvc["kind"] == "InferenceService"
    assert container(bundle)["args"][-1] == "--x=a: b # c"
