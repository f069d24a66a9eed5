"""Read-only reference data: models, GPUs, prices, use cases, benchmarks and data health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from agent.api.deps import SessionDep
from kb.domain import BenchmarkSource, GPUPriceSpec, GPUSpec, ModelSpec, PricingModel, SLOTemplateSpec
from kb.health import HealthReport, check_health
from kb.repositories import benchmarks as bench_repo
from kb.repositories import catalog

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/models", response_model=list[ModelSpec])
def list_models(
    session: SessionDep,
    task: str | None = None,
    family: str | None = None,
    domain: str | None = None,
    min_params_b: Annotated[float | None, Query(ge=0)] = None,
    max_params_b: Annotated[float | None, Query(ge=0)] = None,
    moe: bool | None = None,
    approved_only: bool = False,
) -> list[ModelSpec]:
    """Catalog models, smallest first, filtered by task, family, domain, size or MoE."""
    filters = catalog.ModelFilter(
        task=task,
        family=family,
        domain=domain,
        min_params_b=min_params_b,
        max_params_b=max_params_b,
        moe=moe,
        approved_only=approved_only,
    )
    return catalog.list_models(session, filters)


@router.get("/models/{model_id:path}", response_model=ModelSpec)
def get_model(model_id: str, session: SessionDep) -> ModelSpec:
    """One model by HF repo id or short name."""
    return catalog.get_model(session, model_id)


@router.get("/gpus", response_model=list[GPUSpec])
def list_gpus(
    session: SessionDep, vendor: str | None = None, min_vram_gb: Annotated[float | None, Query(ge=0)] = None
) -> list[GPUSpec]:
    """GPU types with the figures the performance model uses."""
    return catalog.list_gpus(session, vendor=vendor, min_vram_gb=min_vram_gb)


@router.get("/gpus/{name}", response_model=GPUSpec)
def get_gpu(name: str, session: SessionDep) -> GPUSpec:
    """One GPU type by name or alias."""
    return catalog.get_gpu(session, name)


@router.get("/prices", response_model=list[GPUPriceSpec])
def list_prices(
    session: SessionDep, gpu: str | None = None, pricing_model: PricingModel | None = None
) -> list[GPUPriceSpec]:
    """GPU prices by provider and pricing model, with their source and effective date."""
    return catalog.list_prices(session, gpu=gpu, pricing_model=pricing_model)


@router.get("/use-cases", response_model=list[SLOTemplateSpec])
def list_use_cases(session: SessionDep) -> list[SLOTemplateSpec]:
    """The SLO templates: traffic profile, p95 targets and user-to-QPS parameters per use case."""
    return catalog.list_slo_templates(session)


@router.get("/use-cases/{use_case}", response_model=SLOTemplateSpec)
def get_use_case(use_case: str, session: SessionDep) -> SLOTemplateSpec:
    """One SLO template by id or synonym."""
    return catalog.get_slo_template(session, use_case)


@router.get("/benchmarks", response_model=bench_repo.BenchmarkPage)
def list_benchmarks(
    session: SessionDep,
    model: str | None = None,
    hardware: str | None = None,
    hardware_count: Annotated[int | None, Query(ge=1, le=1024)] = None,
    prompt_tokens: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
    output_tokens: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
    source: BenchmarkSource | None = None,
    max_ttft_p95_ms: Annotated[float | None, Query(gt=0)] = None,
    max_itl_p95_ms: Annotated[float | None, Query(gt=0)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> bench_repo.BenchmarkPage:
    """Benchmark rows with filters and offset/limit pagination (stable order)."""
    filters = bench_repo.BenchmarkFilter(
        model=model,
        hardware=hardware,
        hardware_count=hardware_count,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        source=source,
        max_ttft_p95_ms=max_ttft_p95_ms,
        max_itl_p95_ms=max_itl_p95_ms,
    )
    return bench_repo.search(session, filters, offset=offset, limit=limit)


@router.get("/data/health", response_model=HealthReport, tags=["health"])
def data_health(
    request: Request, session: SessionDep, stale_after_days: Annotated[int | None, Query(ge=1, le=36500)] = None
) -> HealthReport:
    """Cross-reference and staleness problems in the knowledge base."""
    days = stale_after_days or request.app.state.settings.stale_price_days
    return check_health(session, stale_after_days=days)
