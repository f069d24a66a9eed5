"""`compass recommend`, `compass compare`, `compass plan`, `compass kb estimate` from the terminal."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agent.cli import app
from kb.db import Database

runner = CliRunner()


@pytest.fixture(scope="module")
def estimated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One seeded SQLite database with materialised estimates, shared by this module's read-only tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'compass.db'}"
    from kb.services import ensure_ready

    ensure_ready(Database(url))
    return url


@pytest.fixture
def env(estimated_sqlite: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COMPASS_DATABASE_URL", estimated_sqlite)
    return estimated_sqlite


def test_recommend_prints_a_ranked_table_with_costs(env: str) -> None:
    result = runner.invoke(
        app,
        [
            "recommend",
            "--use-case",
            "chatbot_conversational",
            "--users",
            "1000",
            "--priority",
            "latency",
            "--budget",
            "5000",
            "--gpu",
            "H100",
            "--gpu",
            "L4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "$/month" in result.output and "configurations meet every p95 SLO" in result.output
    assert "#1:" in result.output


def test_recommend_json_is_machine_readable(env: str) -> None:
    result = runner.invoke(app, ["recommend", "-u", "code_completion", "--qps", "20", "--json", "--top", "3"])
    body = json.loads(result.output)
    assert len(body["options"]) == 3 and body["spec"]["slo"]["ttft_p95_ms"] == 100
    assert all(o["compliance"]["ttft"] for o in body["options"])


def test_recommend_with_impossible_slo_names_the_closest_miss(env: str) -> None:
    result = runner.invoke(app, ["recommend", "-u", "chatbot_conversational", "--qps", "5", "--ttft", "1"])
    assert result.exit_code == 0
    assert "Nothing meets all p95 SLOs" in result.output and "try: relax p95 TTFT" in result.output


def test_recommend_rejects_absurd_input_in_one_line(env: str) -> None:
    result = runner.invoke(app, ["recommend", "-u", "chatbot_conversational", "--users", "-3"])
    assert result.exit_code == 1
    assert "Error: invalid deployment spec: users: Input should be greater than or equal to 1" in result.output


def test_compare_shows_scenarios_and_differences(env: str) -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            "-u",
            "chatbot_conversational",
            "--users",
            "20000",
            "-w",
            "traffic=2",
            "-w",
            "ttft=300,label=relaxed",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "traffic x2 vs baseline" in result.output and "relaxed vs baseline" in result.output


def test_compare_rejects_an_unreadable_scenario(env: str) -> None:
    result = runner.invoke(app, ["compare", "-u", "chatbot_conversational", "--qps", "3", "-w", "speed=fast"])
    assert result.exit_code == 1 and "cannot read what-if 'speed=fast'" in result.output


def test_plan_for_one_model_and_gpu(env: str) -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            "--model",
            "Llama-3.1-8B-Instruct",
            "--gpu",
            "L4",
            "-u",
            "chatbot_conversational",
            "--qps",
            "5",
            "--json",
        ],
    )
    body = json.loads(result.output)
    assert {o["gpu"] for o in body["options"]} == {"L4"}


def test_estimate_replaces_estimates_without_touching_measured_rows(env: str) -> None:
    result = runner.invoke(app, ["kb", "estimate"])
    assert result.exit_code == 0 and "estimated benchmarks:" in result.output and "inserted" in result.output
