"""The recommendation engine over HTTP: plan, what-if comparison and benchmark query."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tools.benchmark_query import BenchmarkQuery, BenchmarkQueryResult, query_benchmarks
from tools.langchain_tools import WhatIfArgs
from tools.planning_service import PlanningService
from tools.specs import DeploymentSpec, Recommendation
from tools.whatif import ScenarioComparison

router = APIRouter(prefix="/api/v1", tags=["recommendations"])


def _service(request: Request) -> PlanningService:
    service: PlanningService = request.app.state.planning
    return service


@router.post("/recommendations", response_model=Recommendation)
def recommend(spec: DeploymentSpec, request: Request) -> Recommendation:
    """Ranked, costed configurations meeting the spec's p95 SLOs, with Pareto frontier and nearest misses."""
    return _service(request).recommend(spec)


@router.post("/recommendations/what-if", response_model=ScenarioComparison)
def what_if(args: WhatIfArgs, request: Request) -> ScenarioComparison:
    """The spec and each changed scenario side by side, with differences to the baseline."""
    return _service(request).what_if(args.spec, args.changes)


@router.post("/benchmarks/query", response_model=BenchmarkQueryResult, tags=["reference"])
def benchmark_query(query: BenchmarkQuery, request: Request) -> BenchmarkQueryResult:
    """Exact-match lookup when model, hardware, count, prompt and output tokens are all given; filtered otherwise."""
    return query_benchmarks(_service(request).database, query)
