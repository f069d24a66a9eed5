"""`compass eval`: run the scripted agent dialogues through the real graph and report how the agent did.

Uses the configured database (migrated and seeded when empty) and sends every deployment a dialogue approves to a
local simulator under a temporary folder; each dialogue's deployments are deleted when it ends. Prints one row per
dialogue and the aggregate metrics, writes the JSON report, and exits 1 when any (non-xfail) check failed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.context import open_database
from agent.cli.errors import friendly_errors
from agent.context import AgentServices
from evals.report import EvalReport, build_report, markdown, metric_rows, write_json
from evals.runner import DialogueResult, eval_services, run_suite
from evals.schema import Dialogue, bundled_dialogues_dir, load_dialogue, load_dialogues

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def _dialogues(source: Path | None, only: list[str] | None) -> list[Dialogue]:
    if source is not None and source.is_file():
        dialogue = load_dialogue(source)
        return [dialogue] if not only or dialogue.name in only else []
    return load_dialogues(source or bundled_dialogues_dir(), only=only)


def _services(llm: Literal["rules", "ollama"]) -> AgentServices:
    from agent.runtime import build_services

    services = build_services(open_database(), llm_enabled=llm == "ollama")
    if llm == "ollama" and services.llm is None:  # COMPASS_LLM says rules: --llm ollama overrides it
        from agent.intent.llm import make_chat_model
        from agent.intent.settings import LLMSettings

        settings = LLMSettings(backend="ollama")
        services.llm, services.llm_label, services.llm_timeout_s = (
            make_chat_model(settings),
            settings.label,
            settings.timeout_s,
        )
    return services


def _progress(result: DialogueResult) -> None:
    mark = "[green]✓[/]" if result.passed else "[red]✗[/]"
    console.print(
        f"{mark} {result.name}  {result.checks_passed}/{result.checks_total} checks  {result.duration_s:.2f} s",
        highlight=False,
    )


def print_report(report: EvalReport) -> None:
    table = Table("dialogue", "turns", "checks", "time", title="Compass agent evals")
    for r in report.dialogues:
        style = None if r.passed else "red"
        known = f" (+{r.xfailed} xfail)" if r.xfailed else ""
        table.add_row(
            r.name,
            f"{len(r.turns)}/{r.turns_scripted}",
            f"{r.checks_passed}/{r.checks_total}{known}",
            f"{r.duration_s:.2f} s",
            style=style,
        )
    console.print(table)
    metrics = Table("metric", "value", title=f"{report.llm}, {report.checkpoints} checkpoints")
    for name, value in metric_rows(report.metrics):
        metrics.add_row(name, value)
    console.print(metrics)
    for r in report.dialogues:
        for failure in r.failures():
            console.print(f"[red]FAIL[/] {r.name} {failure}", highlight=False)
    for item in report.known_failures:
        console.print(f"[yellow]{item.status.upper()}[/] {item.dialogue} turn {item.turn}: {item.reason}")


@friendly_errors
def eval_command(
    dialogues: Annotated[
        Path | None,
        typer.Option("--dialogues", help="Folder of dialogue YAML files, or one file (default: the bundled suite)"),
    ] = None,
    llm: Annotated[
        Literal["rules", "ollama"], typer.Option(help="Intent extraction: built-in rules, or a local Ollama model")
    ] = "rules",
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only this dialogue (repeatable)")] = None,
    report: Annotated[Path, typer.Option(help="Where to write the JSON report")] = Path(".compass/eval-report.json"),
    checkpoints: Annotated[
        Literal["memory", "sqlite"], typer.Option(help="Checkpointer the graph is compiled with")
    ] = "memory",
    markdown_path: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the summary as markdown (e.g. a CI job summary)")
    ] = None,
) -> None:
    """Run scripted multi-turn dialogues through the agent and score every turn; exit 1 if any check fails."""
    chosen = _dialogues(dialogues, only)
    if not chosen:
        console.print("No dialogues to run.")
        raise typer.Exit(code=1)
    services = _services(llm)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="compass-eval-") as state_dir:
        results = run_suite(
            chosen, eval_services(services, Path(state_dir)), checkpoints=checkpoints, on_result=_progress
        )
    result = build_report(
        results, llm=services.llm_label, checkpoints=checkpoints, duration_s=time.perf_counter() - started
    )
    print_report(result)
    write_json(result, report)
    console.print(f"report written to {report}", style="dim", highlight=False)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(markdown(result), encoding="utf-8")
    if not result.passed:
        raise typer.Exit(code=1)
