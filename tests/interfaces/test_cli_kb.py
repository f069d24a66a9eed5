"""The `compass` CLI for the knowledge base: help everywhere, readable errors, idempotent seeding."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from kb.db import Database

runner = CliRunner()


@pytest.fixture
def env(seeded_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A seeded catalog (no estimates, so the CLI's start-up has nothing to do)."""
    monkeypatch.setenv("COMPASS_DATABASE_URL", seeded_db.url)
    return seeded_db


@pytest.fixture
def empty_env(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("COMPASS_DATABASE_URL", db.url)
    return db


def _commands(typer_app: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import typer.main

    group = typer.main.get_command(typer_app)  # type: ignore[arg-type]
    found: list[tuple[str, ...]] = [prefix]

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            found.append((*path, name))
            walk(sub, (*path, name))

    walk(group, prefix)
    return found


@pytest.mark.parametrize("command", _commands(app), ids=lambda c: " ".join(c) or "compass")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_seed_twice_says_nothing_changed(empty_env: Database) -> None:
    first = runner.invoke(app, ["kb", "seed"])
    second = runner.invoke(app, ["kb", "seed"])
    assert first.exit_code == 0 and "inserted" in first.output
    assert second.exit_code == 0 and "nothing changed" in second.output


def test_import_reports_counts_and_is_idempotent(env: Database, guidellm_samples: Path) -> None:
    args = [
        "kb",
        "import-guidellm",
        str(guidellm_samples / "benchmarks_stripped.json"),
        "--model",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--hardware",
        "A100-80GB",
        "--count",
        "1",
    ]
    assert "1 inserted, 0 updated, 0 unchanged" in runner.invoke(app, args).output
    assert "0 inserted, 0 updated, 1 unchanged" in runner.invoke(app, args).output


def test_a_malformed_report_gets_one_line_naming_file_and_path(env: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"benchmarks": [{"type_": "generative_benchmark"}]}')
    result = runner.invoke(app, ["kb", "import-guidellm", str(bad), "--model", "x/y", "--hardware", "L4"])
    assert result.exit_code == 1
    assert "Error: " in result.output and "bad.json: at benchmarks[0]" in result.output
    assert "Traceback" not in result.output


def test_health_strict_fails_when_problems_exist(env: Database) -> None:
    result = runner.invoke(app, ["kb", "health", "--strict", "--stale-after-days", "1"])
    assert result.exit_code == 1
    assert "prices older than the staleness limit" in result.output


def test_health_without_strict_reports_but_succeeds(env: Database) -> None:
    result = runner.invoke(app, ["kb", "health", "--stale-after-days", "1"])
    assert result.exit_code == 0 and "prices older than the staleness limit" in result.output


def test_an_unreachable_database_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPASS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    result = runner.invoke(app, ["kb", "models"])
    assert result.exit_code == 1
    assert "Error: database postgresql+psycopg://postgres@127.0.0.1:1/nowhere is unavailable" in result.output
    assert "Traceback" not in result.output


def test_an_invalid_database_url_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPASS_DATABASE_URL", "not a url")
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 1
    assert "COMPASS_DATABASE_URL is not a valid database URL" in result.output


def test_models_lists_the_catalog_as_json(env: Database) -> None:
    result = runner.invoke(app, ["kb", "models", "--json"])
    assert result.exit_code == 0
    assert "meta-llama/Llama-3.1-8B-Instruct" in result.output
