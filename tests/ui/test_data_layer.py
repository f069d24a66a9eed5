"""Chainlit's data layer works on the tables Alembic creates, on SQLite and PostgreSQL, without a logged error."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from agent.context import AgentServices
from kb.db import Database
from kb.orm import ThreadRow
from ui.storage import async_database_url, build_data_layer, load_file

CHAINLIT_TABLES = {"users", "threads", "steps", "elements", "feedbacks", "ui_files"}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def chainlit_warnings() -> Iterator[list[logging.LogRecord]]:
    """Everything Chainlit logs at WARNING or above: its data layer reports SQL errors only this way."""
    handler = _Collect()
    logger = logging.getLogger("chainlit")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_alembic_creates_chainlits_tables_and_renames_ours(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert tables >= CHAINLIT_TABLES | {"conversations"}
    assert ThreadRow.__tablename__ == "conversations"
    steps = {c["name"] for c in inspect(db.engine).get_columns("steps")}
    assert {"autoCollapse", "defaultOpen", "modes", "command", "showInput"} <= steps


def test_the_async_url_points_at_the_same_database() -> None:
    assert async_database_url("sqlite:////tmp/x/compass.db") == "sqlite+aiosqlite:////tmp/x/compass.db"
    assert async_database_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert async_database_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


async def test_a_thread_with_steps_elements_and_feedback_round_trips(
    db: Database, chainlit_warnings: list[logging.LogRecord]
) -> None:
    import chainlit as cl
    import plotly.graph_objects as go
    from chainlit.context import ChainlitContext, context_var
    from chainlit.session import HTTPSession
    from chainlit.types import Feedback, Pagination, ThreadFilter
    from chainlit.user import User

    layer = build_data_layer(db, "/chat/element-files")
    try:
        alice = await layer.create_user(User(identifier="alice", metadata={"provider": "credentials"}))
        assert alice is not None and alice.identifier == "alice"
        thread_id = str(uuid.uuid4())
        # An HTTP session: the data layer writes at once instead of waiting for a first user message.
        session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp", thread_id=thread_id, user=alice)
        context_var.set(ChainlitContext(session))
        await layer.update_thread(thread_id, name="chatbot for 1000 users", user_id=alice.id, metadata={"k": 1})

        question = cl.Message(content="chatbot for 1000 users", type="user_message", author="alice")
        await layer.create_step(question.to_dict())
        tool = cl.Step(name="recommend", type="tool")
        tool.input, tool.output = {"use_case": "chatbot"}, "3 viable options"
        await layer.create_step(tool.to_dict())
        answer = cl.Message(content="| # | model |", command="deployments")
        await layer.create_step(answer.to_dict())
        chart = cl.Plotly(name="cost vs latency", figure=go.Figure(go.Scatter(x=[1], y=[2])), display="inline")
        chart.for_id = answer.id
        await layer.create_element(chart)
        yaml = cl.File(name="option-1.yaml", content=b"kind: InferenceService\n", mime="text/yaml")
        yaml.for_id = answer.id
        await layer.create_element(yaml)
        feedback_id = await layer.upsert_feedback(Feedback(forId=answer.id, value=1, threadId=thread_id))

        thread = await layer.get_thread(thread_id)
        assert thread is not None and thread["userIdentifier"] == "alice" and thread["name"] == "chatbot for 1000 users"
        steps = {s["id"]: s for s in thread["steps"]}
        assert set(steps) == {question.id, tool.id, answer.id}
        assert steps[tool.id]["type"] == "tool" and steps[tool.id]["output"] == "3 viable options"
        assert steps[answer.id]["feedback"]["value"] == 1 and steps[answer.id]["feedback"]["id"] == feedback_id
        elements = {e["name"]: e for e in thread["elements"]}
        assert set(elements) == {"cost vs latency", "option-1.yaml"}
        stored = load_file(db, str(elements["option-1.yaml"]["objectKey"]))
        assert stored is not None and stored.data == b"kind: InferenceService\n"
        assert str(elements["cost vs latency"]["objectKey"]).startswith(f"{alice.id}/")
        assert str(elements["cost vs latency"]["url"]).startswith("/chat/element-files/")
        assert await layer.get_thread_author(thread_id) == "alice"
        assert await layer.get_element(thread_id, chart.id) is not None

        page = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=alice.id))
        assert [t["id"] for t in page.data] == [thread_id]

        await layer.delete_thread(thread_id)
        assert await layer.get_thread(thread_id) is None
    finally:
        await layer.close()
    assert [r.getMessage() for r in chainlit_warnings] == []


async def test_users_only_list_their_own_threads(db: Database, chainlit_warnings: list[logging.LogRecord]) -> None:
    from chainlit.types import Pagination, ThreadFilter
    from chainlit.user import User

    layer = build_data_layer(db, "/chat/element-files")
    try:
        alice = await layer.create_user(User(identifier="alice"))
        bob = await layer.create_user(User(identifier="bob"))
        assert alice is not None and bob is not None
        mine = str(uuid.uuid4())
        await layer.update_thread(mine, name="alice's", user_id=alice.id)
        await layer.update_thread(str(uuid.uuid4()), name="bob's", user_id=bob.id)
        page = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=alice.id))
        assert [t["name"] for t in page.data] == ["alice's"]
        assert await layer.get_thread_author(mine) == "alice"
    finally:
        await layer.close()
    assert [r.getMessage() for r in chainlit_warnings] == []


async def test_deleting_a_chat_in_the_sidebar_deletes_its_conversation(
    ui_services: AgentServices, chainlit_warnings: list[logging.LogRecord]
) -> None:
    from chainlit.user import User
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.conversation import Conversation
    from agent.graph import builder
    from kb.errors import NotFoundError

    conversation = Conversation(builder.compile(checkpointer=InMemorySaver()), ui_services, deploy_target="manifests")
    deleted: list[tuple[str, str]] = []

    async def forget(thread_id: str, owner: str) -> None:
        deleted.append((thread_id, owner))
        conversation.delete(thread_id, owner)

    layer = build_data_layer(ui_services.database, "/chat/element-files", on_thread_deleted=forget)
    try:
        alice = await layer.create_user(User(identifier="alice"))
        assert alice is not None
        thread_id = str(uuid.uuid4())
        conversation.create_thread("alice", thread_id=thread_id)
        conversation.send(thread_id, "alice", "chatbot for 100 users")
        await layer.update_thread(thread_id, name="chatbot", user_id=alice.id)
        await layer.delete_thread(thread_id)
    finally:
        await layer.close()
    assert deleted == [(thread_id, "alice")]
    with pytest.raises(NotFoundError):
        conversation.state(thread_id, "alice")
    assert [r.getMessage() for r in chainlit_warnings] == []
