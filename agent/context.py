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
    """Per-run context: `context=Context(...)` on invoke/stream."""

    services: AgentServices
    user_id: str = "local-user"
    deploy_target: str = "local"
