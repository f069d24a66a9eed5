"""One conversation API for every surface (REST, CLI, Chainlit): threads, turns, interrupts, state and history."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, Field

from agent.context import AgentServices, Context
from kb.errors import ValidationFailedError
from kb.repositories import threads
from kb.repositories.threads import ThreadInfo

MAX_MESSAGE_CHARS = 20_000


class PendingQuestion(BaseModel):
    """What the graph is waiting for: a clarifying answer or a deployment approval."""

    type: str
    question: str
    options: list[str] = Field(default_factory=list)
    slot: str | None = None
    rank: int | None = None


class TurnResult(BaseModel):
    thread_id: str
    replies: list[str]
    pending: PendingQuestion | None
    phase: str | None
    has_recommendation: bool


class MessageView(BaseModel):
    role: str
    content: str


class ThreadState(BaseModel):
    thread: ThreadInfo
    messages: list[MessageView]
    pending: PendingQuestion | None
    values: dict[str, Any]


class HistoryEntry(BaseModel):
    checkpoint_id: str | None
    step: int | None
    created_at: str | None
    next: list[str]
    messages: int
    phase: str | None


def _content(message: AnyMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


def _view(message: AnyMessage) -> MessageView:
    role = "user" if isinstance(message, HumanMessage) else "assistant" if isinstance(message, AIMessage) else "system"
    return MessageView(role=role, content=_content(message))


def _pending(snapshot: Any) -> PendingQuestion | None:
    interrupts = getattr(snapshot, "interrupts", ()) or ()
    if not interrupts:
        return None
    value = interrupts[0].value
    if not isinstance(value, dict):
        return PendingQuestion(type="question", question=str(value))
    return PendingQuestion.model_validate({k: value.get(k) for k in PendingQuestion.model_fields if k in value})


class Conversation:
    """Runs turns on a graph compiled with a checkpointer; enforces thread ownership."""

    def __init__(
        self, graph: CompiledStateGraph[Any, Any, Any, Any], services: AgentServices, *, deploy_target: str
    ) -> None:
        self.graph = graph
        self.services = services
        self.deploy_target = deploy_target

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    def _context(self, owner: str) -> Context:
        return Context(services=self.services, user_id=owner, deploy_target=self.deploy_target)

    def create_thread(self, owner: str, *, thread_id: str | None = None, title: str = "") -> ThreadInfo:
        with self.services.database.session() as session:
            if thread_id is not None:
                existing = threads.find(session, thread_id)
                if existing is not None:
                    return threads.get(session, thread_id, owner=owner)  # someone else's: not found
            return threads.create(session, thread_id or uuid.uuid4().hex, owner, title)

    def thread(self, thread_id: str, owner: str) -> ThreadInfo:
        with self.services.database.session() as session:
            return threads.get(session, thread_id, owner=owner)

    def list_threads(self, owner: str) -> list[ThreadInfo]:
        with self.services.database.session() as session:
            return threads.list_for(session, owner)

    def _input(self, text: str | None, resume: Any, shown: str | None) -> Any:
        if resume is not None:
            return Command(resume=resume)
        if text is None or not text.strip():
            raise ValidationFailedError("the message is empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise ValidationFailedError(f"the message is longer than {MAX_MESSAGE_CHARS:,} characters")
        if shown is not None:
            return Command(resume=text)  # a typed answer to the pending question
        return {"messages": [HumanMessage(text)]}

    def _before(self, thread_id: str) -> tuple[int, str | None]:
        """Message count and the question already shown, so a turn reports only what is new."""
        snapshot = self.graph.get_state(self._config(thread_id))
        pending = _pending(snapshot)
        return len(snapshot.values.get("messages", [])), pending.question if pending else None

    def send(self, thread_id: str, owner: str, text: str | None = None, *, resume: Any = None) -> TurnResult:
        """One turn: a new message, or the answer to the pending question/approval."""
        info = self.thread(thread_id, owner)
        before = self._before(thread_id)
        graph_input = self._input(text, resume, before[1])
        self.graph.invoke(graph_input, self._config(thread_id), context=self._context(owner))
        return self._result(info, before, title=text)

    def _result(self, info: ThreadInfo, before: tuple[int, str | None], *, title: str | None) -> TurnResult:
        snapshot = self.graph.get_state(self._config(info.id))
        messages = snapshot.values.get("messages", [])
        count, shown = before
        replies = [_content(m) for m in messages[count:] if isinstance(m, AIMessage) and _content(m) != shown]
        pending = _pending(snapshot)
        if pending is not None:
            replies.append(pending.question)
        with self.services.database.session() as session:
            threads.touch(session, info.id, title=(title or "")[:80] or None)
        return TurnResult(
            thread_id=info.id,
            replies=replies,
            pending=pending,
            phase=snapshot.values.get("phase"),
            has_recommendation=bool(snapshot.values.get("recommendation")),
        )

    def stream(
        self, thread_id: str, owner: str, text: str | None = None, *, resume: Any = None
    ) -> Iterator[dict[str, Any]]:
        """Events while the turn runs: `node` progress, `token` chunks, then a final `turn` with the result."""
        info = self.thread(thread_id, owner)
        config = self._config(thread_id)
        before = self._before(thread_id)
        graph_input = self._input(text, resume, before[1])
        for mode, payload in self.graph.stream(
            graph_input, config, context=self._context(owner), stream_mode=["updates", "messages"]
        ):
            if mode == "updates" and isinstance(payload, dict):
                for node in payload:
                    if node != "__interrupt__":
                        yield {"event": "node", "node": node}
            elif mode == "messages":
                chunk = payload[0]
                if isinstance(chunk, AIMessageChunk | AIMessage) and chunk.content:
                    yield {"event": "token", "text": _content(chunk)}
        yield {"event": "turn", "result": self._result(info, before, title=text).model_dump(mode="json")}

    def state(self, thread_id: str, owner: str) -> ThreadState:
        info = self.thread(thread_id, owner)
        snapshot = self.graph.get_state(self._config(thread_id))
        values = dict(snapshot.values)
        messages = [_view(m) for m in values.pop("messages", [])]
        return ThreadState(thread=info, messages=messages, pending=_pending(snapshot), values=values)

    def history(self, thread_id: str, owner: str, *, limit: int = 100) -> list[HistoryEntry]:
        self.thread(thread_id, owner)
        entries = []
        for snapshot in self.graph.get_state_history(self._config(thread_id), limit=limit):
            configurable = snapshot.config.get("configurable", {})
            entries.append(
                HistoryEntry(
                    checkpoint_id=configurable.get("checkpoint_id"),
                    step=(snapshot.metadata or {}).get("step"),
                    created_at=snapshot.created_at,
                    next=list(snapshot.next),
                    messages=len(snapshot.values.get("messages", [])),
                    phase=snapshot.values.get("phase"),
                )
            )
        return entries

    def delete(self, thread_id: str, owner: str) -> None:
        self.thread(thread_id, owner)
        checkpointer = self.graph.checkpointer
        if checkpointer is not None and not isinstance(checkpointer, bool):
            checkpointer.delete_thread(thread_id)
        with self.services.database.session() as session:
            threads.delete(session, thread_id)
