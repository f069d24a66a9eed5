"""`compass deploy` and `compass deployments`: run an option, then inspect, probe, tail and remove it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.context import open_database
from agent.cli.errors import friendly_errors
from kb.domain import Quantization
from kb.errors import ValidationFailedError
from tools.deploy.request import DeploymentRequest
from tools.deploy.service import DeploymentService
from tools.specs import Recommendation

app = typer.Typer(help="Deployments: list, status, logs, probe, delete.", no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
Target = Literal["local", "kubernetes", "manifests"]


def service() -> DeploymentService:
    from agent.runtime import deployment_service

    return deployment_service(open_database())


@friendly_errors
def deploy(
    recommendation: Annotated[
        Path | None, typer.Option(help="JSON saved from `compass recommend --json`; pick one with --option")
    ] = None,
    option: Annotated[int, typer.Option(help="Rank of the option in the saved recommendation")] = 1,
    model: Annotated[str | None, typer.Option(help="Model (instead of a saved recommendation)")] = None,
    gpu: Annotated[str | None, typer.Option(help="GPU type")] = None,
    count: Annotated[int, typer.Option(help="GPUs per replica (tensor parallel size)")] = 1,
    replicas: Annotated[int, typer.Option(help="Replicas")] = 1,
    quantization: Annotated[Quantization, typer.Option(help="Weight format")] = Quantization.BF16,
    use_case: Annotated[str | None, typer.Option(help="Use case, for SLO targets and naming")] = None,
    target: Annotated[Target, typer.Option(help="local (simulator), kubernetes, or manifests (YAML files)")] = "local",
    namespace: Annotated[str | None, typer.Option(help="Kubernetes namespace (must be allowed)")] = None,
    name: Annotated[str | None, typer.Option(help="Deployment id (default: generated)")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="Folder for --target manifests")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Deploy a saved recommendation's option, or an explicit model/GPU/count, to a target."""
    where: dict[str, object] = {"target": target, "namespace": namespace, "deployment_id": name}
    if output_dir is not None:
        where["output_dir"] = str(output_dir)
    if recommendation is not None:
        try:
            rec = Recommendation.model_validate_json(recommendation.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationFailedError(
                f"cannot read recommendation {recommendation}: {str(exc).splitlines()[0]}"
            ) from None
        chosen = next((o for o in rec.options if o.rank == option), None)
        if chosen is None:
            raise ValidationFailedError(f"{recommendation} has no option {option} (it has {len(rec.options)})")
        request = DeploymentRequest.from_option(chosen, rec, **where)
    elif model and gpu:
        request = DeploymentRequest.model_validate(
            {
                "model": model,
                "gpu": gpu,
                "tensor_parallel": count,
                "replicas": replicas,
                "max_replicas": replicas,
                "quantization": quantization,
                "use_case": use_case,
                **where,
            }
        )
    else:
        raise ValidationFailedError("give --recommendation FILE [--option N], or --model and --gpu")
    record = service().deploy(request, progress=lambda line: console.print(line, style="dim", highlight=False))
    if as_json:
        console.print_json(record.model_dump_json())
    else:
        console.print(f"[green]{record.id}[/] {record.status}: {record.endpoint or record.manifests_path or ''}")


@app.command("list")
@friendly_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Your deployments with status and endpoint."""
    records = service().list_deployments()
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in records]))
        return
    table = Table("id", "target", "status", "model", "GPU", "endpoint / files", "created")
    for r in records:
        table.add_row(
            r.id,
            r.target,
            r.status,
            str(r.spec.get("model", "")),
            f"{r.spec.get('tensor_parallel', 1)}x {r.spec.get('gpu', '')}",
            r.endpoint or r.manifests_path or "",
            f"{r.created_at:%Y-%m-%d %H:%M}" if r.created_at else "",
        )
    console.print(table)


@app.command("status")
@friendly_errors
def status_command(deployment_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One deployment's state (a dead local process shows as failed) and its probe history."""
    svc = service()
    record = svc.status(deployment_id)
    if as_json:
        console.print_json(record.model_dump_json())
        return
    console.print(f"{record.id}: {record.status} ({record.target}) {record.endpoint or ''} {record.message}")
    for outcome in svc.outcomes(deployment_id):
        when = f"{outcome.measured_at:%Y-%m-%d %H:%M:%S}" if outcome.measured_at else "-"
        console.print(
            f"  probe {when}: TTFT p95 {outcome.ttft_p95_ms or 0:.0f} ms, ITL p95 {outcome.itl_p95_ms or 0:.1f} ms, "
            f"errors {outcome.errors}, within prediction: {outcome.within_prediction}",
            highlight=False,
        )


@app.command("logs")
@friendly_errors
def logs_command(deployment_id: str, lines: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """Tail a local deployment's simulator log."""
    console.print(service().logs(deployment_id, lines=lines), highlight=False, markup=False)


@app.command("probe")
@friendly_errors
def probe_command(
    deployment_id: str,
    requests: Annotated[int, typer.Option(min=1, max=10_000, help="Prompts to send")] = 8,
    concurrency: Annotated[int, typer.Option(min=1, max=1000, help="In flight at once")] = 4,
    prompt: Annotated[str | None, typer.Option(help="Test prompt")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stream test prompts; report TTFT/ITL/E2E p50/p95 and tokens/s next to the prediction."""
    result = service().probe(deployment_id, requests=requests, concurrency=concurrency, prompt=prompt)
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        console.print(result.summary(), highlight=False)


@app.command("delete")
@friendly_errors
def delete_command(deployment_id: str) -> None:
    """Stop and remove a deployment (local: the process and its port; kubernetes: every object it created)."""
    record = service().delete(deployment_id)
    console.print(f"{record.id}: deleted")
