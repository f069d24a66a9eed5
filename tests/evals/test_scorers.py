"""Each scorer passes on a matching observation and fails, with a useful detail, on a mismatching one."""

from __future__ import annotations

from typing import Any

import pytest

from evals.schema import Expectation, OptionExpectation
from evals.scorers import (
    SCORERS,
    Check,
    DeploymentObservation,
    ProbeObservation,
    TurnObservation,
    recommendation_validity,
    same_value,
    score_all_options,
    score_approval_pending,
    score_asks,
    score_deployed,
    score_intent,
    score_near_miss,
    score_no_options,
    score_option_count,
    score_priority,
    score_probe_within_pct,
    score_reply_contains,
    score_reply_not_contains,
    score_slo,
    score_top,
    score_turn,
    score_use_case,
)
from kb.domain import Quantization, SLOTargets, TrafficProfile
from tools.specs import (
    CostEstimate,
    DataSource,
    DeploymentModel,
    NearMiss,
    PlanOption,
    PredictedLatency,
    Priority,
    RankingWeights,
    Recommendation,
    ResolvedSpec,
    SLOCompliance,
)


def option(rank: int = 1, *, gpu: str = "L4", usd: float = 1000.0, ok: bool = True, **extra: Any) -> PlanOption:
    values: dict[str, Any] = {
        "rank": rank,
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "model_name": "Llama 3.1 8B Instruct",
        "gpu": gpu,
        "tensor_parallel": 1,
        "quantization": Quantization.FP8,
        "replicas": 1,
        "gpus_total": 1,
        "min_replicas": 1,
        "max_replicas": 2,
        "max_rps_per_replica": 10.0,
        "planned_rps_per_replica": 3.0,
        "headroom_pct": 50.0,
        "predicted": PredictedLatency(ttft_p95_ms=90, itl_p95_ms=12, e2e_p95_ms=3000),
        "compliance": SLOCompliance(ttft=ok, itl=True, e2e=True),
        "binding_metric": "ttft",
        "cost": CostEstimate(
            deployment_model=DeploymentModel.CLOUD_RENTAL,
            pricing_model="on_demand",
            provider="x",
            usd_per_gpu_hour=1.0,
            hourly_usd=usd / 730,
            monthly_usd=usd,
            usd_per_1k_tokens=None,
        ),
        "within_budget": None,
        "data_source": DataSource.ESTIMATED,
        "confidence": 0.7,
        "quality_score": 60.0,
    }
    return PlanOption.model_validate({**values, **extra})


def rec(*options: PlanOption, near_misses: list[NearMiss] | None = None) -> Recommendation:
    return Recommendation(
        spec=ResolvedSpec(
            use_case="chatbot_conversational",
            traffic=TrafficProfile(prompt_tokens=512, output_tokens=256),
            slo=SLOTargets(ttft_p95_ms=150, itl_p95_ms=25, e2e_p95_ms=7000),
            qps=3.33,
            qps_source="users",
            users=1000,
        ),
        priority=Priority.BALANCED,
        weights=RankingWeights(),
        options=list(options),
        total_viable=len(options),
        considered=10,
        pareto=[],
        near_misses=near_misses or [],
        tie_break="cheaper first",
        message="",
    )


MISS = NearMiss(
    model="m",
    gpu="B200",
    tensor_parallel=1,
    quantization=Quantization.FP8,
    failed_metric="ttft",
    predicted_ms=58,
    target_ms=5,
    monthly_usd=3000,
    summary="m on 1x B200 at 58 ms p95 TTFT vs 5 ms target",
)


def obs(**values: Any) -> TurnObservation:
    return TurnObservation(**values)


def both(check_ok: Check, check_bad: Check) -> None:
    assert check_ok.passed, check_ok.detail
    assert not check_bad.passed and check_bad.detail


def test_asks() -> None:
    asking = obs(pending_type="question", pending_slot="scale")
    both(score_asks("scale", asking), score_asks("use_case", asking))
    both(score_asks(None, obs()), score_asks(None, asking))
    assert not score_asks("scale", obs(pending_type="approval")).passed


def test_approval_pending() -> None:
    pending = obs(pending_type="approval", pending_rank=2, pending_target="local")
    both(score_approval_pending(True, pending), score_approval_pending(True, obs()))
    both(score_approval_pending(False, obs()), score_approval_pending(False, pending))


def test_intent() -> None:
    seen = obs(intent={"users": 5000, "gpus": ["L4"], "budget_usd_month": 3000.0, "priority": "latency"})
    good = score_intent({"users": 5000, "gpus": ["l4"], "budget_usd_month": 3000, "qps": None}, seen)
    bad = score_intent({"users": 500, "priority": "cost"}, seen)
    both(good, bad)
    assert "users: expected 500, got 5000" in bad.detail and "priority" in bad.detail


def test_same_value_rules() -> None:
    assert same_value(None, []) and same_value(None, None) and not same_value(None, 0)
    assert same_value(["L4", "A10G"], ["a10g", "l4"]) and not same_value(["L4"], ["L4", "A10G"])
    assert same_value("L4", ["L4"]) and same_value(3000, 3000.0) and not same_value(True, 1.0)


def test_use_case_slo_and_priority() -> None:
    seen = obs(recommendation=rec(option()))
    both(score_use_case("chatbot_conversational", seen), score_use_case("translation", seen))
    both(score_priority("balanced", seen), score_priority("cost", seen))
    both(score_slo({"ttft_p95_ms": 150, "e2e_p95_ms": 7000}, seen), score_slo({"ttft_p95_ms": 300}, seen))
    assert score_slo({"ttft_p95_ms": 150}, obs()).detail == "no recommendation"


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        (OptionExpectation(meets_all_slos=True), OptionExpectation(meets_all_slos=False)),
        (OptionExpectation(max_monthly_usd=1000), OptionExpectation(max_monthly_usd=999)),
        (OptionExpectation(gpu_in=["A10G", "l4"]), OptionExpectation(gpu_in=["H100"])),
        (OptionExpectation(gpu_not_in=["H100"]), OptionExpectation(gpu_not_in=["L4"])),
        (OptionExpectation(model_contains="llama 3.1 8b"), OptionExpectation(model_contains="Qwen")),
        (OptionExpectation(data_source="estimated"), OptionExpectation(data_source="benchmarked")),
        (OptionExpectation(within_budget=True), OptionExpectation(within_budget=False)),
    ],
)
def test_top(good: OptionExpectation, bad: OptionExpectation) -> None:
    seen = obs(recommendation=rec(option(within_budget=True), option(2, gpu="H100", usd=5000)))
    both(score_top(good, seen), score_top(bad, seen))


def test_top_without_options_fails() -> None:
    assert not score_top(OptionExpectation(meets_all_slos=True), obs(recommendation=rec())).passed


def test_all_options() -> None:
    seen = obs(recommendation=rec(option(), option(2, gpu="H100", usd=5000)))
    both(
        score_all_options(OptionExpectation(max_monthly_usd=5000), seen),
        score_all_options(OptionExpectation(gpu_in=["L4"]), seen),
    )
    assert "#2" in score_all_options(OptionExpectation(gpu_in=["L4"]), seen).detail


def test_option_count() -> None:
    seen = obs(recommendation=rec(option(), option(2)))
    both(score_option_count(2, seen), score_option_count(8, seen))


def test_no_options_and_near_miss() -> None:
    empty = obs(recommendation=rec(near_misses=[MISS]))
    full = obs(recommendation=rec(option()))
    both(score_no_options(True, empty), score_no_options(True, full))
    both(score_no_options(False, full), score_no_options(False, empty))
    assert not score_no_options(True, obs()).passed
    both(score_near_miss(True, empty), score_near_miss(True, full))


def test_reply_contains_and_not_contains() -> None:
    seen = obs(replies=["Deploy option 1 to the `local` target?", "Not deployed."])
    both(score_reply_contains(["deploy OPTION 1", "not deployed"], seen), score_reply_contains(["kube-system"], seen))
    both(score_reply_not_contains(["kube-system"], seen), score_reply_not_contains(["Not deployed"], seen))


def _deployment(status: str = "running", *probes: ProbeObservation) -> DeploymentObservation:
    return DeploymentObservation(id="d1", status=status, target="local", endpoint="http://x", probe=list(probes))


def test_deployed() -> None:
    running = obs(deployments=[_deployment()])
    failed = obs(deployments=[_deployment("failed")])
    both(score_deployed(True, running), score_deployed(True, failed))
    both(score_deployed(False, obs()), score_deployed(False, running))
    assert score_deployed(True, obs()).detail == "no deployment started"


def test_probe_within_pct() -> None:
    ttft = ProbeObservation(metric="ttft", predicted_ms=100, measured_p95_ms=130)
    itl = ProbeObservation(metric="itl", predicted_ms=4, measured_p95_ms=8)
    seen = obs(deployments=[_deployment("running", ttft, itl)])
    both(score_probe_within_pct(100, seen), score_probe_within_pct(50, seen))
    both(score_probe_within_pct({"ttft": 50}, seen), score_probe_within_pct({"itl": 50}, seen))
    assert not score_probe_within_pct(50, obs(deployments=[_deployment()])).passed
    assert ttft.difference_pct == pytest.approx(30)


def test_score_turn_runs_exactly_the_stated_keys() -> None:
    expect = Expectation.model_validate({"asks": None, "reply_contains": ["hello"], "top": {"gpu_in": ["L4"]}})
    checks = score_turn(expect, obs(replies=["hello"], recommendation=rec(option())))
    assert [c.name for c in checks] == ["asks", "top", "reply_contains"] and all(c.passed for c in checks)
    assert score_turn(Expectation(), obs()) == []
    assert set(SCORERS) == set(Expectation.model_fields)


def test_recommendation_validity_checks_slos_and_stated_constraints() -> None:
    good = rec(option(gpu="L4", usd=900))
    assert recommendation_validity(good, {"budget_usd_month": 1000, "gpus": ["L4"]}) == (True, "")
    ok, why = recommendation_validity(
        rec(option(ok=False, gpu="H100", usd=2000)), {"budget_usd_month": 1000, "exclude_gpus": ["H100"]}
    )
    assert not ok and "meets all SLOs" in why and "over the $1,000 budget" in why and "excluded" in why
    assert recommendation_validity(rec(), {}) == (False, "no options")
    assert not recommendation_validity(good, {"max_gpus": 0, "quantization": ["bf16"]})[0]
