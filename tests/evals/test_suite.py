"""The bundled suite, offline, through the real graph: every check passes, nothing is left running, the CLI works.

One seeded SQLite database (migrated, catalog and estimates) is shared by the whole module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.context import AgentServices
from agent.runtime import build_services
from evals.report import EvalReport, build_report, markdown
from evals.runner import DialogueResult, eval_services, run_dialogue, run_suite, seeded_database
from evals.schema import bundled_dialogues_dir, load_dialogues, parse_dialogue
from kb.db import Database
from tools.deploy import local

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = seeded_database(tmp_path_factory.mktemp("evals") / "compass.db")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def services(database: Database, tmp_path_factory: pytest.TempPathFactory) -> AgentServices:
    return eval_services(build_services(database, llm_enabled=False), tmp_path_factory.mktemp("deployments"))


@pytest.fixture(scope="module")
def suite(services: AgentServices) -> list[DialogueResult]:
    return run_suite(load_dialogues(bundled_dialogues_dir()), services)


def _no_simulators_left(services: AgentServices) -> None:
    alive = [r.id for r in services.deployments.list_deployments() if local.is_running(r.pid, r.id)]
    assert alive == [], f"simulators still running: {alive}"
    assert services.deployments.list_deployments() == [], "every deployment is deleted after its dialogue"


def test_the_bundled_suite_passes_every_check(suite: list[DialogueResult], services: AgentServices) -> None:
    failures = [f"{r.name}: {f}" for r in suite for f in r.failures()]
    assert failures == [], "\n".join(failures)
    assert all(len(r.turns) == r.turns_scripted for r in suite)
    _no_simulators_left(services)


def test_the_report_aggregates_the_suite(suite: list[DialogueResult], tmp_path: Path) -> None:
    report = build_report(suite, llm="rules", checkpoints="memory", duration_s=1.0)
    m = report.metrics
    assert report.passed and m.dialogues == len(suite) >= 28 and m.checks_passed == m.checks_total > 200
    assert m.slot_accuracy is not None and m.slot_accuracy > 0.9
    assert m.recommendation_validity == 1.0, m.invalid_recommendations
    assert m.deployments_attempted >= 2 and m.deployment_success_rate == 1.0
    assert m.turns_to_first_recommendation_mean is not None and 1 <= m.turns_to_first_recommendation_mean < 2
    assert m.latency.p50_ms is not None and m.latency.p95_ms is not None and m.latency.p50_ms <= m.latency.p95_ms
    assert m.xfailed_turns + m.xpassed_turns == len(report.known_failures) > 0
    assert {"chatbot_conversational", "hostile", "deploy"} <= set(m.by_tag)
    again = EvalReport.model_validate_json(report.model_dump_json())
    assert again.metrics == m
    text = markdown(report)
    assert "| slot accuracy |" in text and "Known failures (xfail)" in text


def test_sqlite_checkpoints_run_the_same_dialogues(services: AgentServices) -> None:
    chosen = load_dialogues(bundled_dialogues_dir(), only=["chatbot_vague_clarify", "hostile_deploy_to_kube_system"])
    results = run_suite(chosen, services, checkpoints="sqlite")
    assert [r.passed for r in results] == [True, True], [f for r in results for f in r.failures()]


def test_a_failing_expectation_is_reported_not_raised(services: AgentServices) -> None:
    dialogue = parse_dialogue(
        {
            "name": "wrong",
            "description": "expects the wrong question",
            "turns": [
                {"user": "We need an LLM", "expect": {"asks": "scale"}},
                {"user": "chatbot", "expect": {"asks": "scale", "intent": {"users": 5}}, "xfail": "known"},
            ],
        },
        "memory",
    )
    result = run_dialogue(dialogue, services)
    assert not result.passed and result.checks_total == 1 and result.checks_passed == 0
    assert result.failures() == ["turn 1 ('We need an LLM'): asks: asked 'use_case', expected 'scale'"]
    assert [t.status for t in result.turns] == ["failed", "xfailed"] and result.xfailed == 1


def test_a_turn_that_raises_ends_the_dialogue_with_an_error_check(
    services: AgentServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("planner exploded")

    monkeypatch.setattr(services.planning, "recommend", broken)
    dialogue = parse_dialogue(
        {"name": "boom", "description": "d", "turns": [{"user": "chatbot for 10 users"}, {"user": "never sent"}]},
        "memory",
    )
    result = run_dialogue(dialogue, services)
    assert not result.passed and len(result.turns) == 1 and result.turns_scripted == 2
    assert result.error is not None and "RuntimeError: planner exploded" in result.error
    assert result.turns[0].checks[0].name == "error" and result.checks_total == 1


def test_compass_eval_only_writes_a_json_report(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPASS_DATABASE_URL", database.url)
    monkeypatch.setenv("COMPASS_LLM", "rules")
    report = tmp_path / "out" / "report.json"
    summary = tmp_path / "summary.md"
    result = CliRunner().invoke(
        app,
        ["eval", "--only", "chatbot_vague_clarify", "--report", str(report), "--markdown", str(summary)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["passed"] is True and [d["name"] for d in data["dialogues"]] == ["chatbot_vague_clarify"]
    assert data["metrics"]["checks_passed"] == data["metrics"]["checks_total"] > 0
    assert "chatbot_vague_clarify" in result.output and "slot accuracy" in result.output
    assert "chatbot_vague_clarify" in summary.read_text()


def test_compass_eval_exits_1_when_a_check_fails(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPASS_DATABASE_URL", database.url)
    path = tmp_path / "wrong.yaml"
    path.write_text("name: wrong\ndescription: d\nturns:\n  - user: hello\n    expect: {asks: scale}\n")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["eval", "--dialogues", str(path), "--report", str(report)])
    assert result.exit_code == 1, result.output
    assert json.loads(report.read_text())["passed"] is False and "FAIL" in result.output


def test_compass_eval_names_a_bad_dialogue_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\ndescription: no turns\n")
    result = CliRunner().invoke(app, ["eval", "--dialogues", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.yaml: turns: required key missing" in result.output.replace("\n", "")
