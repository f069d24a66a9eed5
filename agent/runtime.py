"""Builds the long-lived pieces of a Compass process once: database, services, checkpointer, compiled graph."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from agent.context import AgentServices
from agent.conversation import DEFAULT_TURN_LEASE_S, Conversation
from kb.db import Database
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings
from tools.planning_service import PlanningService


def deployment_service(database: Database, settings: DeploySettings | None = None) -> DeploymentService:
    """The deployment service with every target this environment can reach."""
    from tools.k8s_backend import kubernetes_backend_factory

    return DeploymentService(database, settings or DeploySettings(), kubernetes=kubernetes_backend_factory())


def build_services(database: Database, *, llm_enabled: bool = True) -> AgentServices:
    """Planning and deployment services plus the configured LLM (none unless COMPASS_LLM=ollama)."""
    llm, label, timeout = None, "rules", 10.0
    if llm_enabled:
        from agent.intent.llm import make_chat_model
        from agent.intent.settings import LLMSettings

        settings = LLMSettings()
        llm = make_chat_model(settings)
        timeout = settings.timeout_s
        if llm is not None:
            label = f"ollama {settings.model} at {settings.ollama_host}"
    return AgentServices(
        database=database,
        planning=PlanningService(database),
        deployments=deployment_service(database),
        llm=llm,
        llm_label=label,
        llm_timeout_s=timeout,
    )


@functools.cache
def default_services() -> AgentServices:
    """Services from the environment, for callers that give the graph no context (`langgraph dev`)."""
    from kb.services import ensure_ready
    from kb.settings import DatabaseSettings

    database = Database.from_settings(DatabaseSettings())
    ensure_ready(database)
    return build_services(database)


@contextmanager
def open_conversation(
    database: Database, services: AgentServices | None = None, *, turn_lease_s: float | None = None
) -> Iterator[Conversation]:
    """A conversation over the graph compiled once with this database's checkpointer."""
    from agent.checkpoints import open_checkpointer
    from agent.graph import builder

    services = services or build_services(database)
    with open_checkpointer(database.url) as saver:
        graph = builder.compile(checkpointer=saver)
        lease = turn_lease_s if turn_lease_s is not None else DEFAULT_TURN_LEASE_S
        yield Conversation(graph, services, deploy_target=services.deployments.settings.target, turn_lease_s=lease)
