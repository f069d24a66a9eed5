"""Cost models: cloud rental (on-demand, spot, reserved), owned hardware (power only) and purchase (TCO)."""

from __future__ import annotations

from collections.abc import Sequence

from kb.domain import GPUPriceSpec, GPUSpec, PricingModel
from tools.specs import CostEstimate, DatacenterContext, DeploymentModel

HOURS_PER_MONTH = 730.0
DEFAULT_POWER_USD_PER_KWH = 0.12


def cheapest_rate(prices: Sequence[GPUPriceSpec], gpu: str, pricing_model: PricingModel) -> GPUPriceSpec | None:
    """The lowest $/GPU-hour for a GPU under a rental pricing model, newest price per provider."""
    latest: dict[tuple[str, str], GPUPriceSpec] = {}
    for price in prices:
        if price.gpu != gpu or price.pricing_model is not pricing_model or price.usd_per_gpu_hour is None:
            continue
        key = (price.provider, price.region)
        if key not in latest or price.effective_date > latest[key].effective_date:
            latest[key] = price
    return min(latest.values(), key=lambda p: p.usd_per_gpu_hour or 0.0, default=None)


def purchase_price(prices: Sequence[GPUPriceSpec], gpu: str) -> GPUPriceSpec | None:
    candidates = [p for p in prices if p.gpu == gpu and p.pricing_model is PricingModel.PURCHASE]
    return max(candidates, key=lambda p: p.effective_date, default=None)


def power_monthly_usd(gpu: GPUSpec, gpus: int, usd_per_kwh: float, pue: float) -> float:
    """Power x PUE x $/kWh over a 730-hour month, at TDP (a conservative upper bound)."""
    return gpu.tdp_watts * gpus * HOURS_PER_MONTH * usd_per_kwh * pue / 1000.0


def per_1k_tokens(hourly_usd: float, tokens_per_hour: float) -> float | None:
    return hourly_usd / (tokens_per_hour / 1000.0) if tokens_per_hour > 0 else None


def estimate_cost(
    *,
    gpu: GPUSpec,
    gpus: int,
    prices: Sequence[GPUPriceSpec],
    deployment_model: DeploymentModel,
    pricing_model: PricingModel,
    datacenter: DatacenterContext,
    tokens_per_hour: float,
) -> CostEstimate | None:
    """Cost of running `gpus` GPUs for a month; None when the catalog has no price to base it on."""
    if deployment_model is DeploymentModel.CLOUD_RENTAL:
        notes: list[str] = []
        model = pricing_model if pricing_model is not PricingModel.PURCHASE else PricingModel.ON_DEMAND
        rate = cheapest_rate(prices, gpu.name, model)
        if rate is None and model is not PricingModel.ON_DEMAND:
            rate = cheapest_rate(prices, gpu.name, PricingModel.ON_DEMAND)
            if rate is not None:
                notes.append(f"no {model.value} price for {gpu.name}; using on-demand")
                model = PricingModel.ON_DEMAND
        if rate is None or rate.usd_per_gpu_hour is None:
            return None
        hourly = rate.usd_per_gpu_hour * gpus
        return CostEstimate(
            deployment_model=deployment_model,
            pricing_model=model,
            provider=rate.provider,
            usd_per_gpu_hour=rate.usd_per_gpu_hour,
            hourly_usd=hourly,
            monthly_usd=hourly * HOURS_PER_MONTH,
            usd_per_1k_tokens=per_1k_tokens(hourly, tokens_per_hour),
            notes=notes,
        )
    if deployment_model is DeploymentModel.OWNED_HARDWARE:
        if datacenter.power_cost_per_kwh is None:
            return CostEstimate(
                deployment_model=deployment_model,
                pricing_model=pricing_model,
                provider=None,
                usd_per_gpu_hour=None,
                hourly_usd=0.0,
                monthly_usd=0.0,
                usd_per_1k_tokens=None,
                notes=[
                    "The GPUs are already owned and no power price was given, so costs show $0 and fewer GPUs rank "
                    'as cheaper; give one (e.g. "power $0.12/kWh") to count power.'
                ],
            )
        power = power_monthly_usd(gpu, gpus, datacenter.power_cost_per_kwh, datacenter.pue)
        return CostEstimate(
            deployment_model=deployment_model,
            pricing_model=pricing_model,
            provider=None,
            usd_per_gpu_hour=None,
            hourly_usd=power / HOURS_PER_MONTH,
            monthly_usd=power,
            usd_per_1k_tokens=per_1k_tokens(power / HOURS_PER_MONTH, tokens_per_hour),
            power_monthly_usd=power,
            notes=[f"power at TDP x PUE {datacenter.pue:g} x ${datacenter.power_cost_per_kwh:g}/kWh"],
        )
    price = purchase_price(prices, gpu.name)
    if price is None or price.purchase_price_usd is None:
        return None
    kwh = datacenter.power_cost_per_kwh if datacenter.power_cost_per_kwh is not None else DEFAULT_POWER_USD_PER_KWH
    capex = price.purchase_price_usd * gpus
    power = power_monthly_usd(gpu, gpus, kwh, datacenter.pue)
    monthly = capex / datacenter.amortization_months + power
    rental = cheapest_rate(prices, gpu.name, PricingModel.ON_DEMAND)
    break_even = None
    notes = [f"CapEx ${capex:,.0f} over {datacenter.amortization_months} months + power at ${kwh:g}/kWh"]
    if rental is not None and rental.usd_per_gpu_hour is not None:
        rental_monthly = rental.usd_per_gpu_hour * gpus * HOURS_PER_MONTH
        if rental_monthly > power:
            break_even = capex / (rental_monthly - power)
            notes.append(
                f"pays for itself after {break_even:.1f} months vs on-demand rental (${rental_monthly:,.0f}/mo)"
            )
    return CostEstimate(
        deployment_model=deployment_model,
        pricing_model=PricingModel.PURCHASE,
        provider=price.provider,
        usd_per_gpu_hour=None,
        hourly_usd=monthly / HOURS_PER_MONTH,
        monthly_usd=monthly,
        usd_per_1k_tokens=per_1k_tokens(monthly / HOURS_PER_MONTH, tokens_per_hour),
        capex_usd=capex,
        power_monthly_usd=power,
        break_even_months=break_even,
        notes=notes,
    )
