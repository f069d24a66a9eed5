"""Time render + validate of a full bundle: `python -m manifests.bench [--runs 200]`.

The bundle is the largest Compass renders for a GPU deployment: InferenceService, KEDA ScaledObject,
ServiceMonitor, Ingress (host + TLS), NetworkPolicy and the Grafana dashboard ConfigMap. One warm-up render
loads the templates and schemas first (a one-off per process); the figure is per bundle after that.
Target: p95 ≤ 100 ms. Results are recorded in docs/manifests-performance.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

from kb.domain import Quantization, SLOTargets
from manifests.context import (
    CostEstimate,
    DeploymentContext,
    GPURef,
    IngressSettings,
    ModelRef,
    PredictedLatencies,
)
from manifests.render import render_bundle, render_objects
from manifests.validate import validate_objects

TARGET_P95_MS = 100.0


def full_context() -> DeploymentContext:
    """A GPU deployment with every optional object enabled."""
    return DeploymentContext(
        deployment_id="llama-chat",
        namespace="llm-serving",
        model=ModelRef(hf_repo="meta-llama/Llama-3.1-70B-Instruct", served_name="llama-70b"),
        gpu=GPURef(
            name="H100",
            vendor="nvidia",
            resource_name="nvidia.com/gpu",
            node_selector_label="nvidia.com/gpu.product",
            node_selector_value="NVIDIA-H100-80GB-HBM3",
        ),
        gpus_per_replica=4,
        tensor_parallel=4,
        quantization=Quantization.FP8,
        min_replicas=2,
        max_replicas=6,
        slo=SLOTargets(ttft_p95_ms=500, itl_p95_ms=50, e2e_p95_ms=15_000),
        predicted=PredictedLatencies(ttft_p95_ms=310, itl_p95_ms=38, e2e_p95_ms=11_200, source="estimated"),
        cost=CostEstimate(usd_per_month=34_000, usd_per_hour=46.6),
        hf_token_secret="hf-token",
        autoscaler="keda",
        ingress=IngressSettings(host="llm.example.com", tls_secret="llm-tls", class_name="nginx"),
        network_policy=True,
    )


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time render + validate of a full manifest bundle.")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    ctx = full_context()
    started = time.perf_counter()
    bundle = render_bundle(ctx)
    first_ms = (time.perf_counter() - started) * 1000
    samples, render_only, validate_only = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        render_bundle(ctx)
        samples.append((time.perf_counter() - started) * 1000)
    for _ in range(args.runs):
        started = time.perf_counter()
        objects = render_objects(ctx)
        rendered = time.perf_counter()
        validate_objects(objects)
        render_only.append((rendered - started) * 1000)
        validate_only.append((time.perf_counter() - rendered) * 1000)
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    print(f"bundle: {len(bundle)} objects ({', '.join(bundle.kinds)})")
    print(f"python {platform.python_version()} on {platform.machine()}, {args.runs} runs after 1 warm-up")
    print(f"first render+validate (loads templates and schemas): {first_ms:.1f} ms")
    print(f"render+validate p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(samples):.1f} ms (target p95 <= 100 ms)")
    print(
        f"  of which render p50 {statistics.median(render_only):.1f} ms (p95 {percentile(render_only, 0.95):.1f}), "
        f"validate p50 {statistics.median(validate_only):.1f} ms (p95 {percentile(validate_only, 0.95):.1f})"
    )
    return 0 if p95 <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
