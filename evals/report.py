"""Aggregate metrics over dialogue results, a markdown summary, and the JSON report file.

Metrics (all over the dialogues run):
- slot accuracy: intent fields found correct / intent fields the dialogues expect;
- turns to first recommendation: mean and median of the 1-based turn that first produced a recommendation;
- recommendation validity: share of new recommendations (with options) whose top option meets every SLO and every
  constraint the user stated (budget, GPUs, models, formats, GPU cap);
- deployment success rate: deployments started that were running afterwards / deployments started;
- p50 / p95 latency per turn (wall time of one graph invoke).
Checks excused by a turn's `xfail` (known agent bugs) are listed separately and do not count as failures.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from evals.runner import Checkpoints, DialogueResult


class LatencyStats(BaseModel):
    turns: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class TagStats(BaseModel):
    dialogues: int
    passed: int


class KnownFailure(BaseModel):
    """A turn marked `xfail` in its dialogue: a known agent bug, reported, not counted."""

    dialogue: str
    turn: int
    user: str
    reason: str
    status: str = Field(description="xfailed (still broken) or xpassed (fixed: remove the xfail)")
    failed_checks: list[str]


class Metrics(BaseModel):
    dialogues: int
    dialogues_passed: int
    turns: int
    checks_total: int
    checks_passed: int
    xfailed_turns: int
    xpassed_turns: int
    slot_accuracy: float | None
    slot_fields_expected: int
    slot_fields_correct: int
    turns_to_first_recommendation_mean: float | None
    turns_to_first_recommendation_median: float | None
    dialogues_with_recommendation: int
    recommendation_validity: float | None
    recommendations_checked: int
    recommendations_valid: int
    invalid_recommendations: list[str]
    deployment_success_rate: float | None
    deployments_attempted: int
    deployments_succeeded: int
    latency: LatencyStats
    by_tag: dict[str, TagStats]


class EvalReport(BaseModel):
    created_at: str
    llm: str
    checkpoints: Checkpoints
    duration_s: float
    passed: bool
    metrics: Metrics
    known_failures: list[KnownFailure]
    dialogues: list[DialogueResult]


def percentile(values: list[float], pct: float) -> float | None:
    """Linear-interpolated percentile (`pct` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * pct / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def compute_metrics(results: list[DialogueResult]) -> Metrics:
    turns = [t for r in results for t in r.turns]
    firsts = [r.first_recommendation_turn for r in results if r.first_recommendation_turn is not None]
    checked = [(r.name, t) for r in results for t in r.turns if t.valid is not None]
    invalid = [f"{name} turn {t.index}: {t.validity_detail}" for name, t in checked if not t.valid]
    latencies = [t.latency_s * 1000.0 for t in turns if "error" not in {c.name for c in t.checks}]
    expected = sum(t.intent_fields_expected for t in turns)
    correct = sum(t.intent_fields_correct for t in turns)
    attempted = sum(r.deployments_attempted for r in results)
    succeeded = sum(r.deployments_succeeded for r in results)
    tags: dict[str, TagStats] = {}
    for r in results:
        for tag in r.tags:
            stats = tags.setdefault(tag, TagStats(dialogues=0, passed=0))
            stats.dialogues += 1
            stats.passed += int(r.passed)
    return Metrics(
        dialogues=len(results),
        dialogues_passed=sum(r.passed for r in results),
        turns=len(turns),
        checks_total=sum(r.checks_total for r in results),
        checks_passed=sum(r.checks_passed for r in results),
        xfailed_turns=sum(r.xfailed for r in results),
        xpassed_turns=sum(r.xpassed for r in results),
        slot_accuracy=_ratio(correct, expected),
        slot_fields_expected=expected,
        slot_fields_correct=correct,
        turns_to_first_recommendation_mean=statistics.fmean(firsts) if firsts else None,
        turns_to_first_recommendation_median=statistics.median(firsts) if firsts else None,
        dialogues_with_recommendation=len(firsts),
        recommendation_validity=_ratio(len(checked) - len(invalid), len(checked)),
        recommendations_checked=len(checked),
        recommendations_valid=len(checked) - len(invalid),
        invalid_recommendations=invalid,
        deployment_success_rate=_ratio(succeeded, attempted),
        deployments_attempted=attempted,
        deployments_succeeded=succeeded,
        latency=LatencyStats(
            turns=len(latencies),
            p50_ms=percentile(latencies, 50),
            p95_ms=percentile(latencies, 95),
            max_ms=max(latencies) if latencies else None,
        ),
        by_tag=dict(sorted(tags.items())),
    )


def known_failures(results: list[DialogueResult]) -> list[KnownFailure]:
    return [
        KnownFailure(
            dialogue=r.name,
            turn=t.index,
            user=t.user,
            reason=t.xfail or "",
            status=t.status,
            failed_checks=[f"{c.name}: {c.detail}" for c in t.checks if c.excused and not c.passed],
        )
        for r in results
        for t in r.turns
        if t.xfail and any(c.excused for c in t.checks)
    ]


def build_report(results: list[DialogueResult], *, llm: str, checkpoints: Checkpoints, duration_s: float) -> EvalReport:
    return EvalReport(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        llm=llm,
        checkpoints=checkpoints,
        duration_s=duration_s,
        passed=all(r.passed for r in results),
        metrics=compute_metrics(results),
        known_failures=known_failures(results),
        dialogues=results,
    )


def write_json(report: EvalReport, path: Path) -> Path:
    """Write the report as indented JSON (parent folders created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def metric_rows(metrics: Metrics) -> list[tuple[str, str]]:
    """(metric, value) pairs, for the markdown summary and the CLI table."""
    m = metrics
    return [
        ("dialogues passed", f"{m.dialogues_passed}/{m.dialogues}"),
        ("checks passed", f"{m.checks_passed}/{m.checks_total}"),
        ("known failures (xfail)", f"{m.xfailed_turns} still failing, {m.xpassed_turns} now passing"),
        ("slot accuracy", f"{_pct(m.slot_accuracy)} ({m.slot_fields_correct}/{m.slot_fields_expected} fields)"),
        (
            "turns to first recommendation",
            f"mean {_num(m.turns_to_first_recommendation_mean, digits=2)}, "
            f"median {_num(m.turns_to_first_recommendation_median)} "
            f"({m.dialogues_with_recommendation} dialogues)",
        ),
        (
            "recommendation validity",
            f"{_pct(m.recommendation_validity)} ({m.recommendations_valid}/{m.recommendations_checked})",
        ),
        (
            "deployment success",
            f"{_pct(m.deployment_success_rate)} ({m.deployments_succeeded}/{m.deployments_attempted})",
        ),
        (
            "latency per turn",
            f"p50 {_num(m.latency.p50_ms, ' ms', 0)}, p95 {_num(m.latency.p95_ms, ' ms', 0)}, "
            f"max {_num(m.latency.max_ms, ' ms', 0)} ({m.latency.turns} turns)",
        ),
    ]


def markdown(report: EvalReport) -> str:
    """The report as markdown: one row per dialogue, the metrics, failures and known failures."""
    lines = [
        f"# Compass agent evals ({report.llm}, {report.checkpoints} checkpoints, {report.duration_s:.1f} s)",
        "",
        "| dialogue | tags | turns | checks | time |",
        "|---|---|---|---|---|",
    ]
    for r in report.dialogues:
        mark = "✓" if r.passed else "✗"
        lines.append(
            f"| {mark} {r.name} | {', '.join(r.tags)} | {len(r.turns)}/{r.turns_scripted} "
            f"| {r.checks_passed}/{r.checks_total} | {r.duration_s:.2f} s |"
        )
    lines += ["", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in metric_rows(report.metrics)]
    failures = [f"- **{r.name}** {f}" for r in report.dialogues for f in r.failures()]
    if failures:
        lines += ["", "## Failures", "", *failures]
    if report.known_failures:
        lines += ["", "## Known failures (xfail)", ""]
        lines += [
            f"- **{k.dialogue}** turn {k.turn} ({k.status}): {k.reason}"
            + (f" ({'; '.join(k.failed_checks)})" if k.failed_checks else "")
            for k in report.known_failures
        ]
    return "\n".join(lines) + "\n"
