"""Conversation threads over HTTP: create, message (JSON or SSE), answer an interrupt, state, history, delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from agent.api.auth import User
from agent.conversation import Conversation, HistoryEntry, ThreadState, TurnResult
from kb.errors import CompassError, DatabaseUnavailableError
from kb.repositories.threads import ThreadInfo

router = APIRouter(prefix="/api/v1/threads", tags=["threads"])


class NewThread(BaseModel):
    title: str = Field(default="", max_length=255)


class UserMessage(BaseModel):
    text: str = Field(min_length=1, max_length=20_000, description="What the user says")


class InterruptAnswer(BaseModel):
    """The answer to the pending question (text) or approval (`approved`)."""

    text: str | None = Field(default=None, max_length=20_000)
    approved: bool | None = None


def _conversation(request: Request) -> Conversation:
    conversation: Conversation | None = request.app.state.conversation
    if conversation is None:
        reason = getattr(request.app.state, "unavailable", "the database is unavailable")
        raise DatabaseUnavailableError(f"conversations are unavailable: {reason}")
    return conversation


def _sse(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    try:
        for event in events:
            yield f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"
    except CompassError as exc:
        yield f"event: error\ndata: {json.dumps({'event': 'error', 'detail': exc.message})}\n\n"


@router.post("", response_model=ThreadInfo, status_code=201)
def create_thread(body: NewThread, request: Request, user: User) -> ThreadInfo:
    """Start a conversation; its id resumes it from the REST API, the CLI (`compass chat --thread`) or the UI."""
    return _conversation(request).create_thread(user, title=body.title)


@router.get("", response_model=list[ThreadInfo])
def list_threads(request: Request, user: User) -> list[ThreadInfo]:
    """The calling user's conversations, most recent first."""
    return _conversation(request).list_threads(user)


@router.post("/{thread_id}/messages", response_model=TurnResult)
def post_message(
    thread_id: str,
    body: UserMessage,
    request: Request,
    user: User,
    stream: Annotated[bool, Query(description="Server-sent events of node progress and tokens")] = False,
) -> Any:
    """Send a message. If a question is pending, the text answers it. `?stream=true` or Accept: text/event-stream
    streams `node`, `token` and a final `turn` event."""
    conversation = _conversation(request)
    if stream or "text/event-stream" in request.headers.get("accept", ""):
        conversation.thread(thread_id, user)  # ownership is checked before the stream starts
        return StreamingResponse(_sse(conversation.stream(thread_id, user, body.text)), media_type="text/event-stream")
    return conversation.send(thread_id, user, body.text)


@router.post("/{thread_id}/resume", response_model=TurnResult)
def answer_interrupt(thread_id: str, body: InterruptAnswer, request: Request, user: User) -> TurnResult:
    """Answer the pending clarifying question or deployment approval."""
    value: Any = {"approved": body.approved, "text": body.text or ""} if body.approved is not None else body.text
    if value in (None, ""):
        from kb.errors import ValidationFailedError

        raise ValidationFailedError("give `text` (an answer) or `approved` (true/false)")
    return _conversation(request).send(thread_id, user, resume=value)


@router.get("/{thread_id}", response_model=ThreadState)
def get_thread(thread_id: str, request: Request, user: User) -> ThreadState:
    """Messages, pending question and the full graph state values."""
    return _conversation(request).state(thread_id, user)


@router.get("/{thread_id}/history", response_model=list[HistoryEntry])
def get_history(
    thread_id: str, request: Request, user: User, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[HistoryEntry]:
    """Checkpoints of the thread, newest first."""
    return _conversation(request).history(thread_id, user, limit=limit)


@router.delete("/{thread_id}", status_code=204)
def delete_thread(thread_id: str, request: Request, user: User) -> None:
    """Delete the conversation and its checkpoints."""
    _conversation(request).delete(thread_id, user)
