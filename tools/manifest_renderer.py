"""Manifest renderer tool: the validated Kubernetes bundle for a deployment request, as YAML and files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from kb.errors import CompassError
from kb.repositories.catalog import load_snapshot
from tools.deploy.request import DeploymentRequest
from tools.deploy.service import DeploymentService


class RenderRequest(BaseModel):
    request: DeploymentRequest
    deployment_id: str = Field(default="preview", description="Name of the InferenceService")
    simulator_mode: bool = Field(default=False, description="Simulator image, no GPUs (CPU-only clusters)")
    output_dir: str | None = Field(default=None, description="Also write one file per object + kustomization.yaml")


class RenderedManifests(BaseModel):
    deployment_id: str
    objects: list[str] = Field(description="Kind/name of every object, in apply order")
    yaml: str
    files: list[str] = Field(default_factory=list)


def render_manifests(service: DeploymentService, render: RenderRequest) -> RenderedManifests:
    """Render and validate; raises a CompassError naming every problem when the bundle is not valid."""
    with service.database.session() as session:
        catalog = load_snapshot(session)
    bundle = service.bundle(render.deployment_id, render.request, catalog, simulator=render.simulator_mode)
    files = [str(p) for p in bundle.write(Path(render.output_dir))] if render.output_dir else []
    return RenderedManifests(
        deployment_id=render.deployment_id,
        objects=[f"{o.kind}/{o.name}" for o in bundle],
        yaml=bundle.to_yaml(),
        files=files,
    )


def build_manifest_tool(service: DeploymentService) -> BaseTool:
    def run(**kwargs: Any) -> dict[str, Any]:
        try:
            return render_manifests(service, RenderRequest(**kwargs)).model_dump(mode="json")
        except CompassError as exc:
            raise ToolException(exc.message) from exc

    return StructuredTool.from_function(
        func=run,
        name="manifest_renderer",
        description="Validated KServe/autoscaling/monitoring manifests for a deployment option, as YAML.",
        args_schema=RenderRequest,
        handle_tool_error=True,
    )
