"""Agent fixtures: the real graph compiled with an in-memory saver, over a seeded database (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.context import AgentServices, Context
from agent.graph import builder
from kb.db import Database
from tools.deploy import local
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings
from tools.planning_service import PlanningService


@pytest.fixture
def services(seeded_db: Database, tmp_path: Path) -> Iterator[AgentServices]:
    deployments = DeploymentService(seeded_db, DeploySettings(state_dir=tmp_path / "deployments", start_timeout_s=30))
    yield AgentServices(database=seeded_db, planning=PlanningService(seeded_db), deployments=deployments)
    for record in deployments.list_deployments():
        if record.target == "local":
            local.stop(record.pid)


class Chat:
    """Drives one thread the way a UI does: new text, or the answer to a pending interrupt."""

    def __init__(self, services: AgentServices, thread_id: str = "t1") -> None:
        self.graph = builder.compile(checkpointer=InMemorySaver())
        self.context = Context(services=services, user_id="alice")
        self.config: Any = {"configurable": {"thread_id": thread_id}}

    @property
    def state(self) -> dict[str, Any]:
        return dict(self.graph.get_state(self.config).values)

    @property
    def pending(self) -> dict[str, Any] | None:
        interrupts = self.graph.get_state(self.config).interrupts
        return interrupts[0].value if interrupts else None

    def say(self, text: str) -> str:
        before = len(self.state.get("messages", []))
        graph_input: Any = Command(resume=text) if self.pending else {"messages": [HumanMessage(text)]}
        self.graph.invoke(graph_input, self.config, context=self.context)
        new = self.state["messages"][before:]
        replies = [str(m.content) for m in new if m.type == "ai"]
        if self.pending:
            replies.append(self.pending["question"])
        return "\n".join(replies)


@pytest.fixture
def chat(services: AgentServices) -> Chat:
    return Chat(services)
