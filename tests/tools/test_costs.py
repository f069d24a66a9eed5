"""Cost models: rental, owned hardware (power only) and purchase with break-even."""

from __future__ import annotations

import pytest

from kb.domain import PricingModel
from kb.repositories.catalog import CatalogSnapshot
from tools.costs import HOURS_PER_MONTH, cheapest_rate, estimate_cost
from tools.specs import DatacenterContext, DeploymentModel


def _cost(catalog: CatalogSnapshot, model: DeploymentModel, gpus: int = 4, **dc: float) -> object:
    return estimate_cost(
        gpu=catalog.gpu("A100-80GB"),
        gpus=gpus,
        prices=catalog.prices,
        deployment_model=model,
        pricing_model=PricingModel.ON_DEMAND,
        datacenter=DatacenterContext(**dc),
        tokens_per_hour=1_000_000,
    )


def test_rental_is_gpus_times_rate_times_730_hours(catalog: CatalogSnapshot) -> None:
    rate = cheapest_rate(catalog.prices, "A100-80GB", PricingModel.ON_DEMAND)
    assert rate is not None and rate.usd_per_gpu_hour is not None
    cost = _cost(catalog, DeploymentModel.CLOUD_RENTAL)
    assert cost.monthly_usd == pytest.approx(4 * rate.usd_per_gpu_hour * HOURS_PER_MONTH)  # type: ignore[attr-defined]


def test_owned_hardware_costs_only_power_times_pue(catalog: CatalogSnapshot) -> None:
    gpu = catalog.gpu("A100-80GB")
    cost = _cost(catalog, DeploymentModel.OWNED_HARDWARE, power_cost_per_kwh=0.12, pue=1.3)
    expected = gpu.tdp_watts * 4 * 730 * 0.12 * 1.3 / 1000
    assert cost.monthly_usd == pytest.approx(expected)  # type: ignore[attr-defined]


def test_owned_hardware_without_a_power_price_costs_nothing_and_says_why(catalog: CatalogSnapshot) -> None:
    cost = _cost(catalog, DeploymentModel.OWNED_HARDWARE)
    assert cost.monthly_usd == 0 and "no power price" in cost.notes[0]  # type: ignore[attr-defined]


def test_purchase_amortises_capex_and_reports_break_even(catalog: CatalogSnapshot) -> None:
    cost = _cost(catalog, DeploymentModel.PURCHASE, power_cost_per_kwh=0.12, amortization_months=36)
    assert cost.capex_usd and cost.break_even_months  # type: ignore[attr-defined]
    assert cost.monthly_usd == pytest.approx(cost.capex_usd / 36 + cost.power_monthly_usd)  # type: ignore[attr-defined]


def test_spot_falls_back_to_on_demand_with_a_note_when_unpriced(catalog: CatalogSnapshot) -> None:
    gpus_with_spot = {p.gpu for p in catalog.prices if p.pricing_model is PricingModel.SPOT}
    unpriced = next(g for g in catalog.gpus if g.name not in gpus_with_spot)
    cost = estimate_cost(
        gpu=unpriced,
        gpus=1,
        prices=catalog.prices,
        deployment_model=DeploymentModel.CLOUD_RENTAL,
        pricing_model=PricingModel.SPOT,
        datacenter=DatacenterContext(),
        tokens_per_hour=0,
    )
    assert cost is not None and cost.pricing_model is PricingModel.ON_DEMAND and "using on-demand" in cost.notes[0]
