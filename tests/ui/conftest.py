"""UI fixtures: a recording stand-in for Chainlit's emitter and agent services that only write manifests.

Chainlit writes its config and upload folders under CHAINLIT_APP_ROOT when first imported, so that is pointed at a
throwaway folder here, before any test module imports it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.context import AgentServices
from kb.db import Database
from tools.deploy import local
from tools.deploy.service import DeploymentService
from tools.deploy.settings import DeploySettings
from tools.planning_service import PlanningService

os.environ.setdefault("CHAINLIT_APP_ROOT", tempfile.mkdtemp(prefix="compass-chainlit-"))
os.environ.setdefault("CHAINLIT_AUTH_SECRET", "test-secret-" + "x" * 40)


class RecordingEmitter:
    """Stands in for Chainlit's websocket emitter: keeps every event the handlers send to the browser."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.events: list[tuple[str, Any]] = []
        self.answers: list[Any] = []  # replies to AskUserMessage / AskActionMessage, in order

    async def emit(self, event: str, data: Any) -> None:
        self.events.append((event, data))

    async def send_step(self, step_dict: Any) -> None:
        self.events.append(("new_message", dict(step_dict)))

    async def update_step(self, step_dict: Any) -> None:
        self.events.append(("update_message", dict(step_dict)))

    async def delete_step(self, step_dict: Any) -> None:
        self.events.append(("delete_message", dict(step_dict)))

    async def stream_start(self, step_dict: Any) -> None:
        self.events.append(("stream_start", dict(step_dict)))

    async def send_token(self, id: str, token: str, is_sequence: bool = False, is_input: bool = False) -> None:
        self.events.append(("stream_token", token))

    async def send_element(self, element_dict: Any) -> None:
        self.events.append(("element", dict(element_dict)))

    async def send_ask_user(self, step_dict: Any, spec: Any, raise_on_timeout: bool = False) -> Any:
        self.events.append(("ask", dict(step_dict)))
        return self.answers.pop(0) if self.answers else None

    async def task_start(self) -> None:
        self.events.append(("task_start", None))

    async def task_end(self) -> None:
        self.events.append(("task_end", None))

    async def set_commands(self, commands: Any) -> None:
        self.events.append(("set_commands", commands))

    def set_chat_settings(self, settings: dict[str, Any]) -> None:
        self.session.chat_settings = settings

    async def init_thread(self, interaction: str) -> None:
        return None

    def of(self, kind: str) -> list[Any]:
        return [data for event, data in self.events if event == kind]

    def messages(self) -> list[dict[str, Any]]:
        """Messages as the browser ends up showing them (the last version of each)."""
        latest: dict[str, dict[str, Any]] = {}
        for event, data in self.events:
            if event in ("new_message", "update_message", "stream_start") and "message" in str(data.get("type")):
                latest[data["id"]] = data
        return list(latest.values())

    def texts(self) -> list[str]:
        return [str(m.get("output", "")) for m in self.messages()]

    def actions(self) -> list[dict[str, Any]]:
        removed = {a["id"] for a in self.of("remove_action")}
        return [a for a in self.of("action") if a["id"] not in removed]


@pytest.fixture
def ui_services(seeded_db: Database, tmp_path: Path) -> Iterator[AgentServices]:
    """Agent services whose deployments only write manifests (no simulator processes)."""
    settings = DeploySettings(state_dir=tmp_path / "deployments", target="manifests")
    deployments = DeploymentService(seeded_db, settings)
    yield AgentServices(database=seeded_db, planning=PlanningService(seeded_db), deployments=deployments)
    for record in deployments.list_deployments():
        if record.target == "local":
            local.stop(record.pid)
