"""Runtime context of the graph: the services nodes call and who is talking. Never checkpointed."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from kb.db import Database
from tools.deploy.service import DeploymentService
from tools.planning_service import PlanningService


@dataclass(kw_only=True)
class AgentServices:
    """Long-lived services, built once per process (see `agent.runtime.build_services`)."""

    database: Database
    planning: PlanningService
    deployments: DeploymentService
    llm: BaseChatModel | None = None
    llm_label: str = "rules"
    llm_timeout_s: float = 10.0


@dataclass(kw_only=True)
class Context:
    """Per-run context: `context=Context(...)` on invoke/stream. Without one (e.g. `langgraph dev`), nodes use
    services built from the environment."""

    services: AgentServices | None = None
    user_id: str = "local-user"
    deploy_target: str = "local"


def services_of(context: Context | None) -> AgentServices:
    """The run's services, or the environment's defaults when the caller passed no context."""
    if context is not None and context.services is not None:
        return context.services
    from agent.runtime import default_services

    return default_services()
