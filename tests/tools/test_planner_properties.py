"""Properties of the planner over the real catalog and estimated curves (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.domain import PricingModel
from kb.repositories.catalog import CatalogSnapshot
from tools.capacity_planner import evaluate, parse_spec
from tools.costs import estimate_cost
from tools.specs import DatacenterContext, DeploymentModel

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _viable(catalog: CatalogSnapshot, curves: Any, **values: Any) -> dict[tuple[Any, ...], int]:
    spec = parse_spec({"use_case": "chatbot_conversational", **values})
    result = evaluate(spec, catalog, curves)
    return {(c.model.hf_repo, c.gpu.name, c.tensor_parallel, c.quantization): c.gpus_total for c in result.viable}


@SETTINGS
@given(qps=st.floats(0.1, 500), factor=st.floats(1.0, 10.0))
def test_more_traffic_never_needs_fewer_gpus(
    catalog: CatalogSnapshot, chat_curves: Any, qps: float, factor: float
) -> None:
    low = _viable(catalog, chat_curves, qps=qps)
    high = _viable(catalog, chat_curves, qps=qps * factor)
    assert low.keys() == high.keys()
    assert all(high[key] >= gpus for key, gpus in low.items())


@SETTINGS
@given(
    ttft=st.floats(20, 2000),
    itl=st.floats(2, 100),
    e2e=st.floats(500, 60_000),
    relax=st.floats(1.0, 5.0),
    metric=st.sampled_from(["ttft_p95_ms", "itl_p95_ms", "e2e_p95_ms"]),
)
def test_relaxing_an_slo_never_removes_an_option(
    catalog: CatalogSnapshot, chat_curves: Any, ttft: float, itl: float, e2e: float, relax: float, metric: str
) -> None:
    strict = {"qps": 5, "ttft_p95_ms": ttft, "itl_p95_ms": itl, "e2e_p95_ms": e2e}
    relaxed = {**strict, metric: strict[metric] * relax}
    assert _viable(catalog, chat_curves, **strict).keys() <= _viable(catalog, chat_curves, **relaxed).keys()


@SETTINGS
@given(
    gpus=st.integers(1, 255),
    model=st.sampled_from(list(DeploymentModel)),
    pricing=st.sampled_from([PricingModel.ON_DEMAND, PricingModel.SPOT, PricingModel.RESERVED]),
)
def test_cost_is_monotone_in_gpu_count(
    catalog: CatalogSnapshot, gpus: int, model: DeploymentModel, pricing: PricingModel
) -> None:
    for gpu in catalog.gpus:

        def monthly(n: int, gpu: Any = gpu) -> float:
            cost = estimate_cost(
                gpu=gpu,
                gpus=n,
                prices=catalog.prices,
                deployment_model=model,
                pricing_model=pricing,
                datacenter=DatacenterContext(power_cost_per_kwh=0.1),
                tokens_per_hour=1e6,
            )
            assert cost is not None
            return cost.monthly_usd

        assert monthly(gpus + 1) > monthly(gpus)
