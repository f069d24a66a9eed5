"""`compass manifests render`: write the validated bundle for a deployment or a saved recommendation's option."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agent.cli.context import open_database
from agent.cli.errors import friendly_errors
from agent.runtime import deployment_service
from kb.errors import ValidationFailedError
from tools.deploy.request import DeploymentRequest
from tools.manifest_renderer import RenderRequest, render_manifests
from tools.specs import Recommendation

app = typer.Typer(help="Kubernetes manifests: render and validate bundles.", no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


@app.command("render")
@friendly_errors
def render(
    deployment: Annotated[
        str | None, typer.Option(help="A recorded deployment id (`compass deployments list`)")
    ] = None,
    recommendation: Annotated[Path | None, typer.Option(help="JSON from `compass recommend --json`")] = None,
    option: Annotated[int, typer.Option(help="Rank of the option in --recommendation")] = 1,
    name: Annotated[str, typer.Option(help="InferenceService name for --recommendation")] = "compass-llm",
    namespace: Annotated[str | None, typer.Option(help="Namespace written into the objects")] = None,
    simulator: Annotated[bool, typer.Option(help="Simulator image without GPUs (CPU-only clusters)")] = False,
    output: Annotated[Path | None, typer.Option(help="Folder for one file per object + kustomization.yaml")] = None,
) -> None:
    """Render and validate the bundle; prints it as YAML, or writes files with --output."""
    service = deployment_service(open_database())
    if deployment is not None:
        record = service.get(deployment)
        request = DeploymentRequest.model_validate(record.spec)
        deployment_id = record.id
    elif recommendation is not None:
        try:
            rec = Recommendation.model_validate_json(recommendation.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationFailedError(
                f"cannot read recommendation {recommendation}: {str(exc).splitlines()[0]}"
            ) from None
        chosen = next((o for o in rec.options if o.rank == option), None)
        if chosen is None:
            raise ValidationFailedError(f"{recommendation} has no option {option} (it has {len(rec.options)})")
        request = DeploymentRequest.from_option(chosen, rec)
        deployment_id = name
    else:
        raise ValidationFailedError("give --deployment ID or --recommendation FILE [--option N]")
    if namespace is not None:
        request = request.model_copy(update={"namespace": namespace})
    rendered = render_manifests(
        service,
        RenderRequest(
            request=request,
            deployment_id=deployment_id,
            simulator_mode=simulator,
            output_dir=str(output) if output else None,
        ),
    )
    if output is None:
        sys.stdout.write(rendered.yaml)
    else:
        console.print(f"{len(rendered.files)} files in {output}: {', '.join(rendered.objects)}")
