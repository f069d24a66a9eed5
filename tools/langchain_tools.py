"""LangChain wrappers: the planning functions as tools with Pydantic argument schemas, bound to a service."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from kb.errors import CompassError
from tools.benchmark_query import BenchmarkQuery, query_benchmarks
from tools.planning_service import PlanningService
from tools.specs import DeploymentSpec
from tools.whatif import WhatIf


class WhatIfArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: DeploymentSpec = Field(description="The current deployment spec")
    changes: list[WhatIf] = Field(min_length=1, max_length=20, description="Scenarios to compare against the spec")


def _guard(call: Any) -> Any:
    """Compass errors become ToolExceptions, so the model sees the message instead of the run failing."""

    def run(**kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except CompassError as exc:
            raise ToolException(exc.message) from exc

    return run


def build_planning_tools(service: PlanningService) -> list[BaseTool]:
    """The benchmark query, capacity planner and what-if tools over one planning service."""

    def benchmark_query(**kwargs: Any) -> dict[str, Any]:
        return query_benchmarks(service.database, BenchmarkQuery(**kwargs)).model_dump(mode="json")

    def capacity_planner(**kwargs: Any) -> dict[str, Any]:
        return service.recommend(DeploymentSpec(**kwargs)).model_dump(mode="json")

    def what_if(spec: DeploymentSpec, changes: list[WhatIf]) -> dict[str, Any]:
        return service.what_if(spec, changes).model_dump(mode="json")

    return [
        StructuredTool.from_function(
            func=_guard(benchmark_query),
            name="benchmark_query",
            description="Benchmark rows for a model/GPU/count/traffic profile (exact match) or filtered search.",
            args_schema=BenchmarkQuery,
            handle_tool_error=True,
        ),
        StructuredTool.from_function(
            func=_guard(capacity_planner),
            name="capacity_planner",
            description="Ranked, costed model + GPU + count options that meet the p95 SLOs for a deployment spec.",
            args_schema=DeploymentSpec,
            handle_tool_error=True,
        ),
        StructuredTool.from_function(
            func=_guard(what_if),
            name="what_if",
            description="Compare the spec with changed scenarios (traffic x2, relaxed SLO, GPU subset, format).",
            args_schema=WhatIfArgs,
            handle_tool_error=True,
        ),
    ]
