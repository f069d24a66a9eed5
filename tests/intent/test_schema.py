"""DeploymentIntent, IntentUpdate, merge semantics across turns and the hand-off to DeploymentSpec."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agent.intent.rules import extract
from agent.intent.schema import DeploymentIntent, IntentUpdate, merge, to_spec_values
from kb.domain import PricingModel, Quantization
from kb.repositories.catalog import CatalogSnapshot
from tools.specs import DeploymentModel, DeploymentSpec, Priority


def intent(**values: Any) -> DeploymentIntent:
    return DeploymentIntent(**values)


def test_everything_is_optional() -> None:
    empty = DeploymentIntent()
    assert empty.is_empty()
    assert empty.filled_fields() == []
    assert to_spec_values(empty) == {}
    DeploymentSpec(**to_spec_values(empty))


@pytest.mark.parametrize(
    "values",
    [
        {"users": 0},
        {"users": 200_000_000},
        {"qps": 0},
        {"ttft_p95_ms": -1},
        {"budget_usd_month": 0},
        {"power_cost_per_kwh": 11},
        {"unknown_fields": ["namespace"]},
        {"priority": "fastest"},
        {"quantization": ["int8"]},
        {"namespace": "kube-system"},
    ],
)
def test_invalid_values_are_rejected(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DeploymentIntent(**values)


def test_lists_are_deduplicated_case_insensitively() -> None:
    assert intent(gpus=["H100", "h100", "L4"]).gpus == ["H100", "L4"]


def test_newer_scalar_wins_and_absent_keeps_old() -> None:
    old = intent(users=500, budget_usd_month=5000, priority=Priority.COST)
    merged = merge(old, intent(budget_usd_month=8000))
    assert merged.users == 500
    assert merged.budget_usd_month == 8000
    assert merged.priority is Priority.COST


def test_users_and_qps_replace_each_other() -> None:
    assert merge(intent(users=500), intent(qps=20)).model_dump(exclude_defaults=True) == {"qps": 20}
    assert merge(intent(qps=20), intent(users=900)).model_dump(exclude_defaults=True) == {"users": 900}
    both = merge(intent(), intent(users=900, qps=20))
    assert (both.users, both.qps) == (900, 20)


def test_lists_union_by_default() -> None:
    merged = merge(intent(gpus=["H100"], models=["m/a"]), intent(gpus=["L4", "H100"], models=["m/b"]))
    assert merged.gpus == ["H100", "L4"]
    assert merged.models == ["m/a", "m/b"]


def test_replaced_lists_take_the_new_value() -> None:
    old = intent(gpus=["H100", "A100-80GB"], quantization=[Quantization.FP8])
    update = IntentUpdate(set=intent(gpus=["L4"], quantization=[Quantization.INT4]), replace=["gpus"])
    merged = merge(old, update)
    assert merged.gpus == ["L4"]
    assert merged.quantization == [Quantization.FP8, Quantization.INT4]


def test_negation_removes_from_the_include_list_and_back() -> None:
    old = intent(gpus=["H100", "L4"], models=["m/a", "m/b"])
    merged = merge(old, intent(exclude_gpus=["H100"], exclude_models=["m/b"]))
    assert merged.gpus == ["L4"]
    assert merged.exclude_gpus == ["H100"]
    assert merged.models == ["m/a"]
    assert merged.exclude_models == ["m/b"]
    again = merge(merged, intent(gpus=["H100"]))
    assert again.gpus == ["L4", "H100"]
    assert again.exclude_gpus == []


def test_clear_forgets_fields() -> None:
    old = intent(users=500, budget_usd_month=5000, gpus=["H100"], unknown_fields=["qps"])
    merged = merge(old, IntentUpdate(clear=["budget_usd_month", "gpus", "qps"]))
    assert merged.model_dump(exclude_defaults=True) == {"users": 500}


def test_clear_then_set_in_one_update() -> None:
    merged = merge(intent(gpus=["H100", "L4"]), IntentUpdate(set=intent(gpus=["B200"]), clear=["gpus"]))
    assert merged.gpus == ["B200"]


def test_dont_know_is_recorded_and_a_later_answer_clears_it() -> None:
    unsure = merge(intent(use_case="chatbot_conversational"), intent(unknown_fields=["users"]))
    assert unsure.unknown_fields == ["users"]
    answered = merge(unsure, intent(users=800))
    assert answered.users == 800
    assert answered.unknown_fields == []


def test_dont_know_forgets_an_earlier_value() -> None:
    merged = merge(intent(budget_usd_month=5000), intent(unknown_fields=["budget_usd_month"]))
    assert merged.budget_usd_month is None
    assert merged.unknown_fields == ["budget_usd_month"]


def test_new_use_case_drops_the_old_description() -> None:
    old = intent(use_case="chatbot_conversational", use_case_description="HR helper")
    assert merge(old, intent(use_case="translation")).use_case_description is None
    assert merge(old, intent(users=5)).use_case_description == "HR helper"
    kept = merge(old, intent(use_case="translation", use_case_description="menus"))
    assert kept.use_case_description == "menus"


def test_merge_is_pure() -> None:
    old = intent(gpus=["H100"])
    new = intent(gpus=["L4"], exclude_gpus=["H100"])
    merge(old, new)
    assert old.gpus == ["H100"]
    assert new.gpus == ["L4"]


@pytest.mark.parametrize(
    "update",
    [{"clear": ["namespace"]}, {"replace": ["users"]}],
)
def test_update_names_real_fields(update: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        IntentUpdate(**update)


def test_to_spec_values_builds_a_valid_spec() -> None:
    full = intent(
        use_case="chatbot_conversational",
        use_case_description="support bot",
        users=1000,
        prompt_tokens=2000,
        output_tokens=300,
        ttft_p95_ms=300,
        itl_p95_ms=20,
        e2e_p95_ms=10000,
        budget_usd_month=5000,
        priority=Priority.LATENCY,
        gpus=["H100", "L4"],
        exclude_gpus=["MI300X"],
        models=["meta-llama/Llama-3.1-8B-Instruct"],
        exclude_models=["mistralai/Mixtral-8x7B-Instruct-v0.1"],
        quantization=[Quantization.FP8],
        pricing_model=PricingModel.SPOT,
        deployment_model=DeploymentModel.OWNED_HARDWARE,
        max_gpus=8,
        power_cost_per_kwh=0.12,
        unknown_fields=["qps"],
    )
    values = to_spec_values(full)
    spec = DeploymentSpec(**values)
    assert spec.quantizations == [Quantization.FP8]
    assert spec.datacenter.power_cost_per_kwh == 0.12
    assert spec.max_gpus == 8
    assert "use_case_description" not in values
    assert "unknown_fields" not in values


def test_to_spec_values_prefers_explicit_qps() -> None:
    values = to_spec_values(intent(users=1000, qps=30))
    assert values == {"qps": 30}
    DeploymentSpec(**values)


def test_to_spec_values_pairs_tokens(catalog: CatalogSnapshot) -> None:
    lone = intent(use_case="chatbot_conversational", prompt_tokens=2000)
    assert "prompt_tokens" not in to_spec_values(lone)
    paired = to_spec_values(lone, catalog=catalog)
    assert (paired["prompt_tokens"], paired["output_tokens"]) == (2000, 256)
    DeploymentSpec(**paired)


def test_to_spec_values_excluded_beats_included() -> None:
    values = to_spec_values(DeploymentIntent.model_construct(gpus=["H100", "L4"], exclude_gpus=["H100"]))
    assert values["gpus"] == ["L4"]
    assert values["exclude_gpus"] == ["H100"]


def test_a_conversation(catalog: CatalogSnapshot) -> None:
    """Turns extracted with the rules and folded with merge end in a spec the planner accepts."""
    turns = [
        ("we need a chatbot for 1000 users, low latency, $5k/month max", None),
        ("H100 or A100 please, but no MI300X", None),
        ("actually only L4s", None),
        ("not sure", "qps"),
        ("2000", "prompt_tokens"),
        ("make TTFT 300ms", None),
        ("drop that, 2k users", None),
    ]
    state = DeploymentIntent()
    for text, expecting in turns:
        state = merge(state, extract(text, catalog, expecting=expecting).update())
    assert state.model_dump(mode="json", exclude_defaults=True) == {
        "use_case": "chatbot_conversational",
        "users": 2000,
        "prompt_tokens": 2000,
        "ttft_p95_ms": 300.0,
        "budget_usd_month": 5000.0,
        "priority": "latency",
        "gpus": ["L4"],
        "exclude_gpus": ["MI300X"],
        "unknown_fields": ["qps"],
    }
    spec = DeploymentSpec(**to_spec_values(state, catalog=catalog))
    assert (spec.prompt_tokens, spec.output_tokens) == (2000, 256)
    assert spec.gpus == ["L4"]
