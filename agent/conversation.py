"""One conversation API for every surface (REST, CLI, Chainlit): threads, turns, interrupts, state and history."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, Field

from agent.context import AgentServices, Context
from kb.errors import ConflictError, ValidationFailedError
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


DEFAULT_TURN_LEASE_S = 900.0
_HOST = socket.gethostname()


def _turn_token() -> str:
    return f"{_HOST}/{os.getpid()}/{uuid.uuid4().hex}"


def _holder_is_dead(token: str) -> bool:
    """A lease taken by a process of this machine that no longer runs (killed mid-turn) can be taken over."""
    host, _, rest = token.partition("/")
    pid = rest.partition("/")[0]
    if host != _HOST or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Conversation:
    """Runs turns on a graph compiled with a checkpointer; enforces thread ownership and one turn at a time."""

    def __init__(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        services: AgentServices,
        *,
        deploy_target: str,
        turn_lease_s: float = DEFAULT_TURN_LEASE_S,
    ) -> None:
        self.graph = graph
        self.services = services
        self.deploy_target = deploy_target
        self.turn_lease_s = turn_lease_s

    @contextmanager
    def turn(self, thread_id: str) -> Iterator[None]:
        """Hold the thread's turn lease (in the database, so it works across workers and replicas) for one turn.

        A second turn on the same thread while one runs gets a ConflictError instead of interleaving with it. A lease
        whose process died (same machine) or that is older than `turn_lease_s` is taken over.
        """
        token = _turn_token()
        stale_before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.turn_lease_s)
        with self.services.database.session() as session:
            claimed = threads.claim_turn(session, thread_id, token, stale_before=stale_before)
            if not claimed:
                held = threads.holder(session, thread_id)
                claimed = (
                    held is not None
                    and _holder_is_dead(held)
                    and threads.take_over_turn(session, thread_id, held, token)
                )
        if not claimed:
            raise ConflictError(
                "this conversation is still answering the previous message; send this one when that answer arrives"
            )
        try:
            yield
        finally:
            with self.services.database.session() as session:
                threads.release_turn(session, thread_id, token)

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

    def _input(self, text: str | None, resume: Any, pending: PendingQuestion | None) -> Any:
        if resume is not None:
            return Command(resume=self._answer(resume, pending))
        if text is None or not text.strip():
            raise ValidationFailedError("the message is empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise ValidationFailedError(f"the message is longer than {MAX_MESSAGE_CHARS:,} characters")
        if pending is not None:
            return Command(resume=text)  # a typed answer to the pending question
        return {"messages": [HumanMessage(text)]}

    @staticmethod
    def _answer(resume: Any, pending: PendingQuestion | None) -> Any:
        """An explicit answer to the pending interrupt, checked against what is actually pending."""
        if pending is None:
            raise ConflictError("nothing is waiting for an answer in this conversation; send a message instead")
        if isinstance(resume, dict) and isinstance(resume.get("approved"), bool) and pending.type != "approval":
            raise ValidationFailedError(f"the pending question needs a text answer: {pending.question}")
        if isinstance(resume, str) and not resume.strip():
            raise ValidationFailedError("the answer is empty")
        return resume

    def _before(self, thread_id: str) -> tuple[int, PendingQuestion | None]:
        """Message count and the question already shown, so a turn reports only what is new."""
        snapshot = self.graph.get_state(self._config(thread_id))
        return len(snapshot.values.get("messages", [])), _pending(snapshot)

    def send(self, thread_id: str, owner: str, text: str | None = None, *, resume: Any = None) -> TurnResult:
        """One turn: a new message, or the answer to the pending question/approval."""
        info = self.thread(thread_id, owner)
        with self.turn(thread_id):
            before = self._before(thread_id)
            graph_input = self._input(text, resume, before[1])
            self.graph.invoke(graph_input, self._config(thread_id), context=self._context(owner))
            return self._result(info, before, title=text)

    def _result(self, info: ThreadInfo, before: tuple[int, PendingQuestion | None], *, title: str | None) -> TurnResult:
        snapshot = self.graph.get_state(self._config(info.id))
        messages = snapshot.values.get("messages", [])
        count, shown = before[0], (before[1].question if before[1] else None)
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
        with self.turn(thread_id):
            before = self._before(thread_id)
            graph_input = self._input(text, resume, before[1])
            yield from self.events(graph_input, config, owner)
            yield {"event": "turn", "result": self._result(info, before, title=text).model_dump(mode="json")}

    def events(self, graph_input: Any, config: RunnableConfig, owner: str) -> Iterator[dict[str, Any]]:
        """Run the graph and report `node` progress and `token` chunks as they come (the caller holds the turn)."""
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
        with self.turn(thread_id):  # not while a turn is writing checkpoints
            checkpointer = self.graph.checkpointer
            if checkpointer is not None and not isinstance(checkpointer, bool):
                checkpointer.delete_thread(thread_id)
        with self.services.database.session() as session:
            threads.delete(session, thread_id)
