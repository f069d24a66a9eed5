"""`compass kb`: seed, inspect, import into and check the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.context import open_database
from agent.cli.errors import friendly_errors
from kb.domain import Quantization
from kb.health import CHECKS, check_health
from kb.repositories import benchmarks as bench_repo
from kb.repositories import catalog
from kb.services import estimate_benchmarks, import_guidellm, seed

app = typer.Typer(help="Knowledge base: catalogs, benchmarks, imports and data health.", no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


@app.command("seed")
@friendly_errors
def seed_command(
    data_dir: Annotated[Path | None, typer.Option(help="Folder with models/gpus/prices/slo_templates YAML")] = None,
) -> None:
    """Load the seed catalogs (idempotent: a second run changes nothing and says so)."""
    db = open_database(seed_if_empty=False)
    report = seed(db, data_dir)
    for line in report.lines():
        console.print(line)


@app.command("estimate")
@friendly_errors
def estimate_command() -> None:
    """Fill the benchmark table with estimated rows: every model x GPU x TP {1,2,4,8} x format x standard profile.

    Measured and imported rows are never overwritten; earlier estimates are replaced.
    """
    db = open_database()
    console.print(f"estimated benchmarks: {estimate_benchmarks(db).summary()}")


@app.command("health")
@friendly_errors
def health_command(
    strict: Annotated[bool, typer.Option(help="Exit 1 when any problem is found")] = False,
    stale_after_days: Annotated[int, typer.Option(min=1, help="Prices older than this are stale")] = 180,
    as_json: JsonOption = False,
) -> None:
    """Report data gaps: models without benchmarks, unknown models/GPUs, missing or stale prices."""
    db = open_database()
    with db.session() as session:
        report = check_health(session, stale_after_days=stale_after_days)
    if as_json:
        console.print_json(report.model_dump_json())
    else:
        console.print("rows: " + ", ".join(f"{k}={v}" for k, v in report.counts.items()))
        if report.ok:
            console.print("[green]no problems found[/]")
        for check, description in CHECKS.items():
            found = [p for p in report.problems if p.check == check]
            if found:
                console.print(f"[yellow]{description}[/] ({len(found)}):")
                for problem in found:
                    console.print(f"  - {problem.subject}: {problem.detail}", highlight=False)
    if strict and not report.ok:
        raise typer.Exit(code=1)


@app.command("import-guidellm")
@friendly_errors
def import_guidellm_command(
    report: Annotated[Path, typer.Argument(help="GuideLLM benchmarks.json report")],
    model: Annotated[str, typer.Option(help="Hugging Face repo id of the benchmarked model")],
    hardware: Annotated[str, typer.Option(help="GPU type (name or alias, e.g. H100)")],
    count: Annotated[int, typer.Option(help="Number of GPUs the server used")] = 1,
    framework_version: Annotated[str, typer.Option(help="vLLM version the server ran")] = "",
    prompt_tokens: Annotated[int | None, typer.Option(help="Override the configured prompt tokens")] = None,
    output_tokens: Annotated[int | None, typer.Option(help="Override the configured output tokens")] = None,
    quantization: Annotated[Quantization, typer.Option(help="Weight format the server ran")] = Quantization.BF16,
) -> None:
    """Import a GuideLLM report (old and new layouts) as measured benchmark rows, all or nothing."""
    db = open_database()
    result = import_guidellm(
        db,
        report,
        model=model,
        hardware=hardware,
        hardware_count=count,
        framework_version=framework_version,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        quantization=quantization,
    )
    console.print(result.summary(), highlight=False)


@app.command("models")
@friendly_errors
def models_command(
    task: Annotated[str | None, typer.Option(help="Only models supporting this task")] = None,
    family: Annotated[str | None, typer.Option(help="Only this model family")] = None,
    as_json: JsonOption = False,
) -> None:
    """List catalog models."""
    db = open_database()
    with db.session() as session:
        models = catalog.list_models(session, catalog.ModelFilter(task=task, family=family))
    if as_json:
        console.print_json(json.dumps([m.model_dump(mode="json") for m in models]))
        return
    table = Table("model", "params (B)", "active (B)", "context", "license", "quantisations")
    for m in models:
        table.add_row(
            m.hf_repo,
            f"{m.total_params_b:g}",
            f"{m.active_params_b:g}",
            str(m.max_context),
            m.license,
            ", ".join(q.name.value for q in m.quantizations),
        )
    console.print(table)


@app.command("gpus")
@friendly_errors
def gpus_command(as_json: JsonOption = False) -> None:
    """List GPU types with their cheapest on-demand price."""
    db = open_database()
    with db.session() as session:
        gpus = catalog.list_gpus(session)
        prices = catalog.list_prices(session)
    if as_json:
        console.print_json(json.dumps([g.model_dump(mode="json") for g in gpus]))
        return
    table = Table("GPU", "vendor", "VRAM GB", "GB/s", "BF16 TFLOP/s", "FP8 TFLOP/s", "on-demand $/h")
    for g in gpus:
        hourly = [p.usd_per_gpu_hour for p in prices if p.gpu == g.name and p.pricing_model.value == "on_demand"]
        table.add_row(
            g.name,
            g.vendor,
            f"{g.vram_gb:g}",
            f"{g.memory_bandwidth_gbps:g}",
            f"{g.bf16_tflops:g}",
            f"{g.fp8_tflops:g}" if g.fp8_tflops else "-",
            f"{min(h for h in hourly if h):.2f}" if hourly else "-",
        )
    console.print(table)


@app.command("use-cases")
@friendly_errors
def use_cases_command(as_json: JsonOption = False) -> None:
    """List the SLO templates: traffic profile and p95 targets per use case."""
    db = open_database()
    with db.session() as session:
        templates = catalog.list_slo_templates(session)
    if as_json:
        console.print_json(json.dumps([t.model_dump(mode="json") for t in templates]))
        return
    table = Table("use case", "class", "tokens", "TTFT p95", "ITL p95", "E2E p95")
    for t in templates:
        table.add_row(
            t.use_case,
            t.experience_class.value,
            f"{t.traffic.prompt_tokens}->{t.traffic.output_tokens}",
            f"{t.slo.ttft_p95_ms:g} ms",
            f"{t.slo.itl_p95_ms:g} ms",
            f"{t.slo.e2e_p95_ms / 1000:g} s",
        )
    console.print(table)


@app.command("export-benchmarks")
@friendly_errors
def export_benchmarks_command(
    output: Annotated[Path, typer.Argument(help="JSON file to write (the simulator's BENCHMARKS_PATH)")],
    model: Annotated[str | None, typer.Option(help="Only this model")] = None,
    hardware: Annotated[str | None, typer.Option(help="Only this GPU")] = None,
) -> None:
    """Export benchmark rows as JSON, e.g. for a simulator container that has no database."""
    db = open_database()
    items = []
    with db.session() as session:
        offset = 0
        while True:
            page = bench_repo.search(
                session, bench_repo.BenchmarkFilter(model=model, hardware=hardware), offset=offset, limit=1000
            )
            items.extend(page.items)
            offset += page.limit
            if offset >= page.total:
                break
    output.write_text(json.dumps([r.model_dump(mode="json") for r in items], indent=1), encoding="utf-8")
    console.print(f"wrote {len(items)} benchmark rows to {output}")
