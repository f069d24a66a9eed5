"""Deployment contexts the manifest tests render: one per golden scenario, plus a builder for bad inputs."""

from __future__ import annotations

from typing import Any

from kb.domain import SLOTargets
from manifests import DeploymentContext, GPURef
from tests.factories import benchmark

H100 = GPURef(
    name="H100",
    vendor="nvidia",
    resource_name="nvidia.com/gpu",
    node_selector_label="nvidia.com/gpu.product",
    node_selector_value="NVIDIA-H100-80GB-HBM3",
)
MI300X = GPURef(
    name="MI300X",
    vendor="amd",
    resource_name="amd.com/gpu",
    node_selector_label="amd.com/gpu.product-name",
    node_selector_value="AMD_Instinct_MI300X_OAM",
)
L4 = GPURef(
    name="L4",
    vendor="nvidia",
    resource_name="nvidia.com/gpu",
    node_selector_label="nvidia.com/gpu.product",
    node_selector_value="NVIDIA-L4",
)
HF_TOKEN_LOOKALIKE = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
"""Shaped like a Hugging Face token; never a real one."""


def base_values(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments of a valid GPU deployment; `overrides` replace single fields."""
    values: dict[str, Any] = {
        "deployment_id": "llama-chat",
        "namespace": "llm-serving",
        "model": {"hf_repo": "meta-llama/Llama-3.1-8B-Instruct", "served_name": "llama-3.1-8b"},
        "gpu": H100,
        "gpus_per_replica": 2,
        "tensor_parallel": 2,
        "quantization": "fp8",
        "min_replicas": 1,
        "max_replicas": 4,
        "slo": SLOTargets(ttft_p95_ms=200, itl_p95_ms=30, e2e_p95_ms=8000),
        "predicted": {"ttft_p95_ms": 120.4, "itl_p95_ms": 21.3, "e2e_p95_ms": 5400, "source": "estimated"},
        "cost": {"usd_per_month": 5234.1, "usd_per_hour": 7.17},
        "hf_token_secret": "hf-token",
    }
    values.update(overrides)
    return values


def context(**overrides: Any) -> DeploymentContext:
    return DeploymentContext.build(**base_values(**overrides))


SCENARIOS: dict[str, dict[str, Any]] = {
    # Real GPUs, FP8, TP=2, HPA, no ingress, no network policy.
    "gpu-hpa": {},
    # AMD GPUs, INT4 (AWQ), TP=4, KEDA, host ingress with TLS via nginx, network policy, custom scrape labels.
    "gpu-keda-ingress-tls": {
        "deployment_id": "qwen-coder",
        "namespace": "code-assist",
        "model": {"hf_repo": "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"},
        "gpu": MI300X,
        "gpus_per_replica": 4,
        "tensor_parallel": 4,
        "quantization": "int4",
        "min_replicas": 2,
        "max_replicas": 6,
        "autoscaler": "keda",
        "autoscale_target_waiting": 2.5,
        "ingress": {"host": "code.example.com", "tls_secret": "code-example-tls", "class_name": "nginx"},
        "network_policy": True,
        "monitoring": {"service_monitor_labels": {"release": "kube-prometheus-stack"}},
        "vllm": {"max_model_len": 32768, "gpu_memory_utilization": 0.92, "extra_args": ["--enable-prefix-caching"]},
        "labels": {"team": "platform"},
        "annotations": {"owner": "ml-platform@example.com"},
    },
    # Fixed replica count on one L4, BF16, no autoscaler, no monitoring objects.
    "gpu-fixed-bf16": {
        "deployment_id": "small-llm",
        "model": {"hf_repo": "meta-llama/Llama-3.2-1B-Instruct"},
        "gpu": L4,
        "gpus_per_replica": 1,
        "tensor_parallel": 1,
        "quantization": "bf16",
        "min_replicas": 2,
        "max_replicas": 2,
        "autoscaler": "none",
        "hf_token_secret": None,
        "cost": None,
        "resources": {"cpu": "6", "memory": "24Gi"},
        "shm_size": "2Gi",
        "monitoring": {"service_monitor": False, "grafana_dashboard": False},
    },
    # Simulator with flat latencies from the prediction, HPA, path-routed ingress without a class.
    "simulator-hpa-path-ingress": {
        "deployment_id": "sim-chat",
        "simulator_mode": True,
        "ingress": {"path": "/llama"},
    },
    # Simulator replaying benchmark rows from a ConfigMap, KEDA, network policy, no ingress.
    "simulator-keda-benchmarks": {
        "deployment_id": "sim-bench",
        "simulator_mode": True,
        "autoscaler": "keda",
        "network_policy": True,
        "predicted": None,
        "simulator_benchmarks": [
            benchmark(hardware_count=2),
            benchmark(hardware_count=2, load_value=32, requests_per_second=9.5, tokens_per_second=2400.0),
        ],
    },
}


def scenario(name: str) -> DeploymentContext:
    return context(**SCENARIOS[name])
