"""Builds the manifest rendering context for a deployment request from the catalog."""

from __future__ import annotations

from kb.domain import BenchmarkRecord, SLOTargets
from kb.repositories.catalog import CatalogSnapshot
from manifests.context import DeploymentContext
from tools.deploy.request import DeploymentRequest


def manifest_context(
    request: DeploymentRequest,
    catalog: CatalogSnapshot,
    *,
    deployment_id: str,
    namespace: str,
    simulator_mode: bool,
    benchmarks: list[BenchmarkRecord],
) -> DeploymentContext:
    """The typed context the templates render from; validation errors name every problem."""
    model, gpu = catalog.model(request.model), catalog.gpu(request.gpu)
    template = catalog.template(request.use_case) if request.use_case else None
    slo = SLOTargets(
        ttft_p95_ms=request.slo_ttft_p95_ms or (template.slo.ttft_p95_ms if template else 1000.0),
        itl_p95_ms=request.slo_itl_p95_ms or (template.slo.itl_p95_ms if template else 50.0),
        e2e_p95_ms=request.slo_e2e_p95_ms or (template.slo.e2e_p95_ms if template else 60_000.0),
    )
    predicted = None
    if request.predicted_ttft_p95_ms and request.predicted_itl_p95_ms and request.predicted_e2e_p95_ms:
        predicted = {
            "ttft_p95_ms": request.predicted_ttft_p95_ms,
            "itl_p95_ms": request.predicted_itl_p95_ms,
            "e2e_p95_ms": request.predicted_e2e_p95_ms,
        }
    cost = None
    if request.monthly_usd is not None and request.hourly_usd is not None:
        cost = {"usd_per_month": request.monthly_usd, "usd_per_hour": request.hourly_usd}
    max_len = min(model.max_context, max(4096, 2 * (request.prompt_tokens + request.output_tokens)))
    return DeploymentContext.build(
        deployment_id=deployment_id,
        namespace=namespace,
        model={"hf_repo": model.hf_repo},
        gpu={
            "name": gpu.name,
            "vendor": gpu.vendor,
            "resource_name": gpu.resource_name,
            "node_selector_label": gpu.node_selector_label,
            "node_selector_value": gpu.node_selector_value,
        },
        gpus_per_replica=request.tensor_parallel,
        tensor_parallel=request.tensor_parallel,
        max_gpus_per_node=gpu.max_tensor_parallel,
        quantization=request.quantization,
        min_replicas=min(request.min_replicas, request.replicas),
        max_replicas=max(request.max_replicas, request.replicas),
        vllm={"max_model_len": max_len},
        slo=slo,
        predicted=predicted,
        cost=cost,
        simulator_mode=simulator_mode,
        simulator_benchmarks=benchmarks if simulator_mode else [],
        hf_token_secret=None if simulator_mode else "hf-token",
    )
