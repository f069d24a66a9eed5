"""The specification as Chainlit chat settings: the form's values from graph state, and what a submit changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from chainlit.input_widget import InputWidget, MultiSelect, NumberInput, Select

from agent.nodes import DEFAULT_USE_CASE, DEFAULT_USERS
from kb.domain import PricingModel
from kb.errors import NotFoundError
from kb.repositories.catalog import CatalogSnapshot
from tools.specs import Priority

FORM_FIELDS: Final = (
    "use_case",
    "users",
    "qps",
    "ttft_p95_ms",
    "itl_p95_ms",
    "e2e_p95_ms",
    "budget_usd_month",
    "priority",
    "gpus",
    "pricing_model",
)
NUMBER_FIELDS: Final = ("users", "qps", "ttft_p95_ms", "itl_p95_ms", "e2e_p95_ms", "budget_usd_month")
PRICING_LABELS: Final = {
    PricingModel.ON_DEMAND: "On-demand rental",
    PricingModel.SPOT: "Spot rental",
    PricingModel.RESERVED: "Reserved rental",
    PricingModel.PURCHASE: "Buy the GPUs",
}


def form_values(values: Mapping[str, Any], catalog: CatalogSnapshot) -> dict[str, Any]:
    """What the form shows: the specification the planner used (or the defaults it would use)."""
    intent: Mapping[str, Any] = values.get("intent") or {}
    rec: Mapping[str, Any] = values.get("recommendation") or {}
    spec: Mapping[str, Any] = rec.get("spec") or {}
    use_case = spec.get("use_case") or intent.get("use_case") or DEFAULT_USE_CASE
    try:
        template = catalog.template(use_case)
    except NotFoundError:
        template = catalog.template(DEFAULT_USE_CASE)
    slo: Mapping[str, Any] = spec.get("slo") or template.slo.model_dump()
    users = spec.get("users") if spec else intent.get("users")
    qps = spec.get("qps") if spec else intent.get("qps")
    if not spec and users is None and qps is None:
        users = DEFAULT_USERS
    if qps is None and users is not None:
        qps = template.qps_for_users(int(users))
    return {
        "use_case": template.use_case,
        "users": users,
        "qps": round(float(qps), 2) if qps is not None else None,
        "ttft_p95_ms": intent.get("ttft_p95_ms") or slo["ttft_p95_ms"],
        "itl_p95_ms": intent.get("itl_p95_ms") or slo["itl_p95_ms"],
        "e2e_p95_ms": intent.get("e2e_p95_ms") or slo["e2e_p95_ms"],
        "budget_usd_month": intent.get("budget_usd_month") or 0,
        "priority": str(rec.get("priority") or intent.get("priority") or Priority.BALANCED.value),
        "gpus": list(intent.get("gpus") or []),
        "pricing_model": str(intent.get("pricing_model") or PricingModel.ON_DEMAND.value),
    }


def widgets(current: Mapping[str, Any], catalog: CatalogSnapshot) -> list[InputWidget]:
    """The settings form, filled with `current` (see `form_values`)."""
    return [
        Select(
            id="use_case",
            label="Use case",
            items={t.display_name: t.use_case for t in sorted(catalog.templates, key=lambda t: t.display_name)},
            initial_value=current["use_case"],
            description="Sets the traffic shape, the default latency targets and how users turn into requests/s.",
        ),
        NumberInput(id="users", label="Users", initial=current["users"], placeholder="e.g. 1000"),
        NumberInput(
            id="qps",
            label="Peak requests per second",
            initial=current["qps"],
            description="Derived from users; set it to plan for an explicit rate instead.",
        ),
        NumberInput(id="ttft_p95_ms", label="p95 time to first token (ms)", initial=current["ttft_p95_ms"]),
        NumberInput(id="itl_p95_ms", label="p95 inter-token latency (ms)", initial=current["itl_p95_ms"]),
        NumberInput(id="e2e_p95_ms", label="p95 end-to-end latency (ms)", initial=current["e2e_p95_ms"]),
        NumberInput(id="budget_usd_month", label="Budget ($ per month, 0 = none)", initial=current["budget_usd_month"]),
        Select(
            id="priority",
            label="Priority",
            values=[p.value for p in Priority],
            initial_value=current["priority"],
        ),
        MultiSelect(
            id="gpus",
            label="Only these GPUs (empty = any)",
            items={g.name: g.name for g in sorted(catalog.gpus, key=lambda g: g.name)},
            initial=current["gpus"],
        ),
        Select(
            id="pricing_model",
            label="Pricing model",
            items={label: model.value for model, label in PRICING_LABELS.items()},
            initial_value=current["pricing_model"],
        ),
    ]


def _normalised(field: str, value: Any) -> Any:
    if field in NUMBER_FIELDS:
        if value in (None, ""):
            return None
        number = float(value)
        if field == "budget_usd_month" and number == 0:
            return None
        return int(number) if field == "users" else round(number, 4)
    if field == "gpus":
        return sorted(str(v) for v in (value or []))
    return None if value in (None, "") else str(value)


def changed_values(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a submit changed, ready for `agent.spec_edit` (None clears a field, [] allows any GPU).

    A number the form cannot read raises ValueError, which the caller reports.
    """
    changes: dict[str, Any] = {}
    for field in FORM_FIELDS:
        if field not in after:
            continue
        new = _normalised(field, after[field])
        if new != _normalised(field, before.get(field)):
            changes[field] = [] if field == "gpus" and not new else new
    if "users" in changes and "qps" in changes:
        del changes["qps"]  # the form shows qps derived from users; a new user count wins
    return changes
