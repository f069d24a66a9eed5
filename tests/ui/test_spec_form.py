"""The settings form: filled from the graph state, and a submit turned into only the fields that changed."""

from __future__ import annotations

from agent.context import AgentServices
from ui.spec_form import changed_values, form_values, widgets


def test_a_new_chat_shows_the_defaults_the_planner_would_use(ui_services: AgentServices) -> None:
    values = form_values({}, ui_services.planning.catalog())
    assert values["use_case"] == "chatbot_conversational" and values["users"] == 100
    assert (values["ttft_p95_ms"], values["itl_p95_ms"], values["e2e_p95_ms"]) == (150, 25, 7000)
    assert values["budget_usd_month"] == 0 and values["gpus"] == [] and values["pricing_model"] == "on_demand"


def test_every_form_field_has_a_widget(ui_services: AgentServices) -> None:
    catalog = ui_services.planning.catalog()
    ids = [w.id for w in widgets(form_values({}, catalog), catalog)]
    assert ids == [
        "use_case", "users", "qps", "ttft_p95_ms", "itl_p95_ms", "e2e_p95_ms", "budget_usd_month", "priority",
        "gpus", "pricing_model",
    ]  # fmt: skip


def test_only_changed_fields_are_sent() -> None:
    before = {"users": 1000, "qps": 3.33, "ttft_p95_ms": 150, "gpus": [], "budget_usd_month": 0}
    after = {"users": "1000", "qps": "3.33", "ttft_p95_ms": "300", "gpus": [], "budget_usd_month": "0"}
    assert changed_values(before, after) == {"ttft_p95_ms": 300.0}


def test_clearing_a_budget_or_the_gpu_filter_is_a_change_to_none_or_any() -> None:
    before = {"budget_usd_month": 5000, "gpus": ["L4"]}
    assert changed_values(before, {"budget_usd_month": 0, "gpus": []}) == {"budget_usd_month": None, "gpus": []}


def test_new_users_win_over_the_rate_derived_from_the_old_ones() -> None:
    before = {"users": 1000, "qps": 3.33}
    assert changed_values(before, {"users": 2000, "qps": 9.0}) == {"users": 2000}
    assert changed_values(before, {"users": 1000, "qps": 9.0}) == {"qps": 9.0}
