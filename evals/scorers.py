"""Scorers: one pure function per expectation kind, each turning (expected, observed turn) into a `Check`.

`TurnObservation` is what the runner saw after a turn (replies, pending interrupt, intent, recommendation, the
deployments the turn started); `score_turn` runs every scorer whose key the turn's expectation states.
`intent_field_results` and `recommendation_validity` are shared with the report's metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from evals.schema import Expectation, OptionExpectation
from tools.specs import PlanOption, Recommendation


class Check(BaseModel):
    """One expectation checked: `name` is the expectation key. `excused`: a known bug (xfail), not counted."""

    name: str
    passed: bool
    detail: str = ""
    excused: bool = False


class ProbeObservation(BaseModel):
    metric: str
    predicted_ms: float
    measured_p95_ms: float

    @property
    def difference_pct(self) -> float:
        return abs(self.measured_p95_ms - self.predicted_ms) / self.predicted_ms * 100.0


class DeploymentObservation(BaseModel):
    """A deployment record that appeared during the turn, and the probe outcome stored for it."""

    id: str
    status: str
    target: str
    endpoint: str | None = None
    message: str | None = None
    probe: list[ProbeObservation] = Field(default_factory=list)


class TurnObservation(BaseModel):
    """The agent's state as a UI would see it right after one turn."""

    replies: list[str] = Field(default_factory=list)
    pending_type: str | None = None
    pending_slot: str | None = None
    pending_rank: int | None = None
    pending_target: str | None = None
    intent: dict[str, Any] = Field(default_factory=dict)
    recommendation: Recommendation | None = None
    recommendation_changed: bool = False
    deployments: list[DeploymentObservation] = Field(default_factory=list)
    latency_s: float = 0.0

    @property
    def reply(self) -> str:
        return "\n".join(self.replies)


# --------------------------------------------------------------------------------------------------- helpers


def _norm(value: Any) -> Any:
    value = getattr(value, "value", value)
    return value.lower() if isinstance(value, str) else value


def same_value(expected: Any, actual: Any) -> bool:
    """Loose equality for intent values: numbers by value, strings case-insensitively, lists as sets."""
    if expected is None:
        return actual is None or actual == [] or actual == {}
    if isinstance(expected, list) or isinstance(actual, list):
        want = expected if isinstance(expected, list) else [expected]
        got = actual if isinstance(actual, list) else [] if actual is None else [actual]
        return sorted(map(str, map(_norm, want))) == sorted(map(str, map(_norm, got)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(expected, actual, rel_tol=1e-6, abs_tol=1e-9)
    return bool(_norm(expected) == _norm(actual))


def intent_field_results(expected: dict[str, Any], actual: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(field, correct, detail) for every intent field a turn expects."""
    out = []
    for name, want in expected.items():
        got = actual.get(name)
        ok = same_value(want, got)
        out.append((name, ok, "" if ok else f"{name}: expected {want!r}, got {got!r}"))
    return out


def _in(name: str, names: list[str]) -> bool:
    return name.lower() in {n.lower() for n in names}


def option_problems(option: PlanOption, expected: OptionExpectation) -> list[str]:
    """Every way `option` differs from `expected` (empty: it matches)."""
    problems = []
    label = f"#{option.rank} {option.label}"
    if expected.meets_all_slos is not None and option.compliance.all != expected.meets_all_slos:
        c = option.compliance
        problems.append(f"{label}: meets all SLOs is {c.all} (ttft {c.ttft}, itl {c.itl}, e2e {c.e2e})")
    if expected.max_monthly_usd is not None and option.cost.monthly_usd > expected.max_monthly_usd:
        problems.append(f"{label}: ${option.cost.monthly_usd:,.0f}/month > ${expected.max_monthly_usd:,.0f}")
    if expected.gpu_in is not None and not _in(option.gpu, expected.gpu_in):
        problems.append(f"{label}: GPU {option.gpu} not in {expected.gpu_in}")
    if expected.gpu_not_in is not None and _in(option.gpu, expected.gpu_not_in):
        problems.append(f"{label}: GPU {option.gpu} is excluded ({expected.gpu_not_in})")
    if expected.model_contains is not None:
        needle = expected.model_contains.lower()
        if needle not in option.model_name.lower() and needle not in option.model.lower():
            problems.append(f"{label}: model does not contain {expected.model_contains!r}")
    if expected.data_source is not None and option.data_source.value != expected.data_source:
        problems.append(f"{label}: data source {option.data_source.value}, expected {expected.data_source}")
    if expected.within_budget is not None and option.within_budget is not expected.within_budget:
        problems.append(f"{label}: within_budget is {option.within_budget}, expected {expected.within_budget}")
    return problems


def recommendation_validity(rec: Recommendation, intent: dict[str, Any]) -> tuple[bool, str]:
    """Whether the top option meets every SLO and every constraint the user stated (budget, GPUs, models...)."""
    if not rec.options:
        return False, "no options"
    top = rec.options[0]
    problems = option_problems(top, OptionExpectation(meets_all_slos=True))
    budget = intent.get("budget_usd_month")
    if budget is not None and top.cost.monthly_usd > float(budget) + 0.5:
        problems.append(f"${top.cost.monthly_usd:,.0f}/month is over the ${float(budget):,.0f} budget")
    gpus, excluded = intent.get("gpus") or [], intent.get("exclude_gpus") or []
    if gpus and not _in(top.gpu, gpus):
        problems.append(f"GPU {top.gpu} is not one of {gpus}")
    if excluded and _in(top.gpu, excluded):
        problems.append(f"GPU {top.gpu} was excluded")
    models, excluded_models = intent.get("models") or [], intent.get("exclude_models") or []
    if models and not _in(top.model, models):
        problems.append(f"model {top.model} is not one of {models}")
    if excluded_models and _in(top.model, excluded_models):
        problems.append(f"model {top.model} was excluded")
    quantizations = intent.get("quantization") or []
    if quantizations and not _in(top.quantization.value, [str(q) for q in quantizations]):
        problems.append(f"{top.quantization.value} is not one of {quantizations}")
    max_gpus = intent.get("max_gpus")
    if max_gpus is not None and top.gpus_total > int(max_gpus):
        problems.append(f"{top.gpus_total} GPUs > the {max_gpus} allowed")
    return not problems, "; ".join(problems)


def _check(name: str, problems: list[str], ok_detail: str = "") -> Check:
    return Check(name=name, passed=not problems, detail="; ".join(problems) if problems else ok_detail)


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------- scorers


def score_asks(expected: str | None, obs: TurnObservation) -> Check:
    """The slot of the pending clarifying question (`None`: no question is pending)."""
    asked = obs.pending_slot if obs.pending_type == "question" else None
    if expected is None:
        return Check(name="asks", passed=asked is None, detail=f"asked {asked!r}" if asked else "no question")
    return Check(name="asks", passed=asked == expected, detail=f"asked {asked!r}, expected {expected!r}")


def score_approval_pending(expected: bool, obs: TurnObservation) -> Check:
    pending = obs.pending_type == "approval"
    detail = f"approval for option {obs.pending_rank} to {obs.pending_target}" if pending else "no approval pending"
    return Check(name="approval_pending", passed=pending is expected, detail=detail)


def score_intent(expected: dict[str, Any], obs: TurnObservation) -> Check:
    results = intent_field_results(expected, obs.intent)
    problems = [detail for _, ok, detail in results if not ok]
    return _check("intent", problems, f"{len(results)} field(s) match")


def score_use_case(expected: str, obs: TurnObservation) -> Check:
    got = obs.recommendation.spec.use_case if obs.recommendation else None
    return Check(name="use_case", passed=got == expected, detail=f"planned for {got!r}")


def score_slo(expected: dict[str, float], obs: TurnObservation) -> Check:
    if obs.recommendation is None:
        return Check(name="slo", passed=False, detail="no recommendation")
    slo = obs.recommendation.spec.slo
    problems = [
        f"{name}: expected {want:g}, got {getattr(slo, name):g}"
        for name, want in expected.items()
        if not math.isclose(getattr(slo, name), want, rel_tol=1e-6)
    ]
    return _check("slo", problems, "targets match")


def score_priority(expected: str, obs: TurnObservation) -> Check:
    got = obs.recommendation.priority.value if obs.recommendation else None
    return Check(name="priority", passed=got == expected, detail=f"ranked for {got!r}")


def score_top(expected: OptionExpectation, obs: TurnObservation) -> Check:
    if obs.recommendation is None or not obs.recommendation.options:
        return Check(name="top", passed=False, detail="no recommended option")
    top = obs.recommendation.options[0]
    return _check("top", option_problems(top, expected), top.label)


def score_all_options(expected: OptionExpectation, obs: TurnObservation) -> Check:
    if obs.recommendation is None or not obs.recommendation.options:
        return Check(name="all_options", passed=False, detail="no recommended option")
    problems = [p for o in obs.recommendation.options for p in option_problems(o, expected)]
    return _check("all_options", problems, f"{len(obs.recommendation.options)} option(s) match")


def score_option_count(expected: int, obs: TurnObservation) -> Check:
    got = len(obs.recommendation.options) if obs.recommendation else 0
    return Check(name="option_count", passed=got == expected, detail=f"{got} option(s)")


def score_no_options(expected: bool, obs: TurnObservation) -> Check:
    rec = obs.recommendation
    if rec is None:
        return Check(name="no_options", passed=False, detail="no recommendation at all")
    empty = not rec.options
    return Check(name="no_options", passed=empty is expected, detail=f"{len(rec.options)} option(s)")


def score_near_miss(expected: bool, obs: TurnObservation) -> Check:
    misses = obs.recommendation.near_misses if obs.recommendation else []
    detail = misses[0].summary if misses else "no near miss"
    return Check(name="near_miss", passed=bool(misses) is expected, detail=detail)


def score_reply_contains(expected: list[str], obs: TurnObservation) -> Check:
    reply = obs.reply.lower()
    missing = [s for s in expected if s.lower() not in reply]
    return _check("reply_contains", [f"missing {s!r} in: {_snippet(obs.reply)}" for s in missing])


def score_reply_not_contains(expected: list[str], obs: TurnObservation) -> Check:
    reply = obs.reply.lower()
    present = [s for s in expected if s.lower() in reply]
    return _check("reply_not_contains", [f"{s!r} present" for s in present])


def score_deployed(expected: bool, obs: TurnObservation) -> Check:
    running = [d for d in obs.deployments if d.status == "running"]
    if expected:
        if running:
            return Check(name="deployed", passed=True, detail=f"{running[0].id} at {running[0].endpoint}")
        why = "; ".join(f"{d.id} {d.status}: {d.message}" for d in obs.deployments) or "no deployment started"
        return Check(name="deployed", passed=False, detail=why)
    started = ", ".join(d.id for d in obs.deployments)
    return Check(name="deployed", passed=not obs.deployments, detail=f"started {started}" if started else "none")


def score_probe_within_pct(expected: float | dict[str, float], obs: TurnObservation) -> Check:
    """Measured p95 TTFT and ITL of the turn's deployment within the % of the prediction (one % or per metric)."""
    limits = expected if isinstance(expected, dict) else {"ttft": expected, "itl": expected}
    probes = [p for d in obs.deployments for p in d.probe if p.metric in limits]
    if not probes:
        return Check(name="probe_within_pct", passed=False, detail="no probe measurement")
    problems = [
        f"{p.metric}: measured {p.measured_p95_ms:.1f} ms vs predicted {p.predicted_ms:.1f} ms "
        f"({p.difference_pct:.0f}% > {limits[p.metric]:g}%)"
        for p in probes
        if p.difference_pct > limits[p.metric]
    ]
    summary = ", ".join(f"{p.metric} {p.difference_pct:.0f}%" for p in probes)
    return _check("probe_within_pct", problems, summary)


SCORERS: dict[str, Callable[[Any, TurnObservation], Check]] = {
    "asks": score_asks,
    "approval_pending": score_approval_pending,
    "intent": score_intent,
    "use_case": score_use_case,
    "slo": score_slo,
    "priority": score_priority,
    "top": score_top,
    "all_options": score_all_options,
    "option_count": score_option_count,
    "no_options": score_no_options,
    "near_miss": score_near_miss,
    "reply_contains": score_reply_contains,
    "reply_not_contains": score_reply_not_contains,
    "deployed": score_deployed,
    "probe_within_pct": score_probe_within_pct,
}
"""Expectation key -> scorer, in the order checks are reported; every key of `Expectation` has one."""


def score_turn(expect: Expectation, obs: TurnObservation) -> list[Check]:
    """Every check the expectation states (`asks: null` is a check; other null or empty keys are not)."""
    checks = []
    for key in sorted(expect.given(), key=list(SCORERS).index):
        value = getattr(expect, key)
        if (value is None and key != "asks") or value == []:
            continue
        checks.append(SCORERS[key](value, obs))
    return checks
