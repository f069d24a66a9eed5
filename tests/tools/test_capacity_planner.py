"""The capacity planner: replicas, costs, ranking, Pareto frontier, misses and clear errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from kb.errors import NotFoundError, ValidationFailedError
from kb.repositories.catalog import CatalogSnapshot
from tests.tools.conftest import synthetic_curves
from tools.capacity_planner import parse_spec, plan
from tools.specs import DataSource, Priority


def spec(**values: Any) -> Any:
    base: dict[str, Any] = {"use_case": "chatbot_conversational", "qps": 10}
    base.update(values)
    return parse_spec(base)


def test_replicas_are_qps_times_headroom_over_capacity_rounded_up(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(qps=10, models=["Llama-3.1-8B-Instruct"], gpus=["H100"]), catalog, synthetic_curves())
    option = rec.options[0]
    assert option.replicas == math.ceil(10 * 1.2 / option.max_rps_per_replica)
    assert option.gpus_total == option.replicas * option.tensor_parallel


def test_headroom_is_configurable(catalog: CatalogSnapshot) -> None:
    base = plan(spec(qps=40, gpus=["H100"], models=["Llama-3.1-8B-Instruct"]), catalog, synthetic_curves())
    more = plan(
        spec(qps=40, gpus=["H100"], models=["Llama-3.1-8B-Instruct"], headroom=2.0), catalog, synthetic_curves()
    )
    assert more.options[0].replicas > base.options[0].replicas


def test_every_option_meets_every_slo_and_reports_cost_and_source(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(), catalog, synthetic_curves())
    assert rec.options
    for option in rec.options:
        assert option.compliance.all
        assert option.cost.monthly_usd == pytest.approx(option.cost.hourly_usd * 730)
        assert option.cost.usd_per_1k_tokens is not None
        assert option.min_replicas <= option.replicas <= option.max_replicas
    sources = {o.gpu: o.data_source for o in rec.options}
    assert sources.get("L4", DataSource.ESTIMATED) is DataSource.ESTIMATED
    assert sources["H100"] is DataSource.BENCHMARKED


def test_cost_priority_puts_the_cheapest_first(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(priority="cost"), catalog, synthetic_curves())
    costs = [o.cost.monthly_usd for o in rec.options]
    assert costs[0] == min(costs)
    assert rec.options[0].scores is not None and rec.options[0].scores.cost == 100


def test_free_weights_override_the_priority(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(weights={"latency": 0, "cost": 0, "quality": 1}), catalog, synthetic_curves())
    qualities = [o.quality_score for o in rec.options]
    assert qualities[0] == max(qualities)


def test_pareto_frontier_has_no_dominated_option(catalog: CatalogSnapshot, chat_curves: Any) -> None:
    rec = plan(spec(users=5000, qps=None), catalog, chat_curves)
    frontier = rec.pareto
    assert len(frontier) >= 2
    assert [p.monthly_usd for p in frontier] == sorted(p.monthly_usd for p in frontier)
    for a in frontier:
        for b in frontier:
            dominated = b.monthly_usd < a.monthly_usd and b.ttft_p95_ms < a.ttft_p95_ms
            assert not dominated


def test_budget_filters_options_and_marks_them(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(budget_usd_month=3000), catalog, synthetic_curves())
    assert all(o.within_budget and o.cost.monthly_usd <= 3000 for o in rec.options)


def test_impossible_slos_show_nearest_misses_and_a_relaxation(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(ttft_p95_ms=20), catalog, synthetic_curves())
    assert rec.options == []
    assert rec.near_misses[0].failed_metric == "ttft"
    assert "Closest: Llama 3.1 8B" in rec.message and "30 ms p95 TTFT vs 20 ms target" in rec.message
    assert any(r.startswith("relax p95 TTFT to 30 ms") for r in rec.relaxations)


def test_a_budget_too_small_suggests_the_budget_that_works(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(budget_usd_month=1), catalog, synthetic_curves())
    assert rec.options == [] and any(r.startswith("raise the budget to $") for r in rec.relaxations)


def test_each_option_has_a_rationale_built_from_its_numbers(catalog: CatalogSnapshot) -> None:
    option = plan(spec(), catalog, synthetic_curves()).options[0]
    assert f"{option.replicas} replica" in option.rationale
    assert f"${option.cost.monthly_usd:,.0f}/month" in option.rationale


def test_users_are_converted_with_the_template_parameters(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(qps=None, users=1000), catalog, synthetic_curves())
    template = catalog.template("chatbot_conversational")
    assert rec.spec.qps == pytest.approx(template.qps_for_users(1000))
    assert rec.spec.qps_source == "users"


def test_non_standard_traffic_uses_estimates_never_nearby_benchmarks(catalog: CatalogSnapshot) -> None:
    from kb.domain import TrafficProfile
    from tools.curve_store import estimated_curves

    traffic = TrafficProfile(prompt_tokens=2000, output_tokens=300)
    curves = estimated_curves(catalog, traffic)
    rec = plan(spec(prompt_tokens=2000, output_tokens=300, gpus=["H100"]), catalog, curves)
    assert rec.options and all(o.data_source is DataSource.ESTIMATED for o in rec.options)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"users": -5, "qps": None}, "users: Input should be greater than or equal to 1"),
        ({"qps": 0}, "qps: Input should be greater than 0"),
        ({"qps": 1e12}, "qps: Input should be less than or equal to 1000000"),
        ({"ttft_p95_ms": 0}, "ttft_p95_ms: Input should be greater than 0"),
        ({"budget_usd_month": 0}, "budget_usd_month: Input should be greater than 0"),
        ({"users": 100}, "give one of users, concurrent_users or qps"),
        ({"gpus": ["H100"], "exclude_gpus": ["h100"]}, "GPU 'h100' is both required and excluded"),
        ({"prompt_tokens": 100}, "give prompt_tokens and output_tokens together"),
    ],
)
def test_bad_specs_get_clear_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationFailedError) as err:
        spec(**values)
    assert message in str(err.value)


def test_an_unknown_gpu_is_named_with_suggestions(catalog: CatalogSnapshot) -> None:
    with pytest.raises(NotFoundError, match="unknown GPU 'H10'; did you mean H100"):
        plan(spec(gpus=["H10"]), catalog, synthetic_curves())


def test_an_unknown_model_is_named(catalog: CatalogSnapshot) -> None:
    with pytest.raises(NotFoundError, match="unknown model 'gpt-99'"):
        plan(spec(models=["gpt-99"]), catalog, synthetic_curves())


def test_a_spec_without_volume_or_use_case_says_what_is_missing(catalog: CatalogSnapshot) -> None:
    with pytest.raises(ValidationFailedError, match="no traffic volume: give users or qps"):
        plan(parse_spec({"use_case": "chatbot_conversational"}), catalog, synthetic_curves())
    with pytest.raises(ValidationFailedError, match="no traffic shape"):
        plan(parse_spec({"qps": 3}), catalog, synthetic_curves())


def test_priority_latency_prefers_lower_slo_utilisation(catalog: CatalogSnapshot) -> None:
    rec = plan(spec(priority=Priority.LATENCY.value), catalog, synthetic_curves())
    assert rec.options[0].gpu == "H100"


def test_without_a_use_case_the_e2e_target_follows_from_ttft_and_itl(catalog: CatalogSnapshot) -> None:
    from tools.capacity_planner import resolve_spec

    spec = parse_spec({"prompt_tokens": 2000, "output_tokens": 300, "qps": 20, "ttft_p95_ms": 300, "itl_p95_ms": 40})
    resolved = resolve_spec(spec, catalog)
    assert resolved.slo.e2e_p95_ms == 300 + 40 * 299
    assert any("TTFT + ITL x 299" in note for note in resolved.notes)


def test_a_missing_latency_target_is_named_in_words(catalog: CatalogSnapshot) -> None:
    from tools.capacity_planner import resolve_spec

    spec = parse_spec({"prompt_tokens": 2000, "output_tokens": 300, "qps": 20, "ttft_p95_ms": 300})
    with pytest.raises(ValidationFailedError, match=r"no inter-token latency \(ITL\) target: .*'ITL 30 ms'"):
        resolve_spec(spec, catalog)


def test_concurrent_users_are_all_active_at_once(catalog: CatalogSnapshot) -> None:
    from tools.capacity_planner import resolve_spec

    named = resolve_spec(parse_spec({"use_case": "chatbot_conversational", "users": 1500}), catalog)
    concurrent = resolve_spec(parse_spec({"use_case": "chatbot_conversational", "concurrent_users": 1500}), catalog)
    template = catalog.template("chatbot_conversational")
    assert concurrent.qps == 1500 * template.requests_per_active_user_per_minute / 60
    assert concurrent.qps == named.qps / template.active_user_fraction
    assert concurrent.qps_source == "concurrent" and any("1,500 concurrent users" in n for n in concurrent.notes)
