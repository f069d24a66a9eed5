"""What the chat shows, from graph state: the specification card, the Pareto chart, comparisons, deployments."""

from __future__ import annotations

from typing import Any

import pytest

from agent.context import AgentServices
from kb.repositories.deployments import DeploymentRecord, OutcomeRecord
from tools.capacity_planner import parse_spec
from tools.specs import Recommendation
from tools.whatif import WhatIf
from ui import views


@pytest.fixture
def recommendation(ui_services: AgentServices) -> Recommendation:
    return ui_services.planning.recommend(parse_spec({"use_case": "chatbot_conversational", "users": 1000}))


def test_the_card_shows_the_planned_specification_and_which_values_are_defaults(
    recommendation: Recommendation, ui_services: AgentServices
) -> None:
    values: dict[str, Any] = {
        "recommendation": recommendation.model_dump(mode="json"),
        "intent": {"ttft_p95_ms": 150, "budget_usd_month": 5000, "gpus": ["L4", "H100"]},
    }
    card = views.spec_card(values, ui_services.planning.catalog())
    assert card is not None
    assert "| Use case | Conversational chatbot |" in card
    assert "1,000 users → 3.33 requests/s at peak" in card
    assert "TTFT ≤ 150 ms · ITL ≤ 25 ms (default) · E2E ≤ 7,000 ms (default)" in card
    assert "$5,000/month" in card and "| GPUs | L4, H100 |" in card


def test_there_is_no_card_before_a_recommendation() -> None:
    assert views.spec_card({"intent": {"users": 10}}) is None


def test_the_chart_plots_options_against_cost_and_highlights_the_pareto_frontier(
    recommendation: Recommendation,
) -> None:
    figure = views.recommendation_chart(recommendation)
    traces = {trace.name: trace for trace in figure.data}
    frontier = next(t for name, t in traces.items() if name.startswith("Pareto frontier"))
    assert list(frontier.x) == sorted(p.ttft_p95_ms for p in recommendation.pareto)
    assert frontier.line.width == 3
    options = [t for name, t in traces.items() if name.startswith("Ranked options")]
    assert sum(len(t.x) for t in options) == len(recommendation.options)
    assert any(shape.x0 == recommendation.spec.slo.ttft_p95_ms for shape in figure.layout.shapes)


def test_scenarios_are_columns_side_by_side(ui_services: AgentServices) -> None:
    spec = parse_spec({"use_case": "chatbot_conversational", "users": 1000})
    comparison = ui_services.planning.what_if(spec, [WhatIf(traffic_factor=2)])
    table = views.comparison_table(comparison)
    header = table.splitlines()[1]
    assert header.startswith("| | **baseline** | **traffic x2** |")
    assert len(views.comparison_chart(comparison).data) == 2


def test_the_yaml_of_a_reply_is_found() -> None:
    reply = "Validated manifests for option 1:\n\n```yaml\nkind: InferenceService\n```"
    assert views.yaml_in(reply) == "kind: InferenceService\n"
    assert views.yaml_in("no manifests here") is None


def test_a_deployment_card_puts_predicted_next_to_probed_latency() -> None:
    record = DeploymentRecord(
        id="chatbot-1",
        owner="alice",
        target="local",
        status="running",
        endpoint="http://127.0.0.1:9000",
        spec={"model": "m", "gpu": "L4", "tensor_parallel": 1, "predicted_ttft_p95_ms": 120.0},
    )
    probe = OutcomeRecord(
        deployment_id="chatbot-1", requests=4, concurrency=2, errors=0, ttft_p50_ms=90, ttft_p95_ms=110,
        itl_p50_ms=4, itl_p95_ms=5.5, e2e_p50_ms=900, e2e_p95_ms=1000, tokens_per_second=400, predicted={},
        within_prediction=True,
    )  # fmt: skip
    card = views.deployment_card(record, [probe])
    assert "**● running**" in card and "`http://127.0.0.1:9000`" in card
    assert "| TTFT | 120 ms | 110 ms |" in card and f"| ITL | {views.MISSING} | 5.5 ms |" in card
    assert "not probed yet" in views.deployment_card(record, [])


def test_steps_name_what_each_node_received_and_produced(recommendation: Recommendation) -> None:
    values = {"recommendation": recommendation.model_dump(mode="json"), "intent": {"users": 1000}}
    given, produced = views.step_details("recommend", values, "chatbot", {"replies": ["..."]})
    assert '"users": 1000' in given and f'"viable": {recommendation.total_viable}' in produced
    given, produced = views.step_details("understand", values, "chatbot for 1000 users", {})
    assert "chatbot for 1000 users" in given and '"users": 1000' in produced
