"""Conversation threads over HTTP: create, message (JSON or SSE), answer an interrupt, state, history, delete."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agent.api.auth import User
from agent.conversation import Conversation, HistoryEntry, ThreadState, TurnResult
from kb.errors import CompassError, DatabaseUnavailableError
from kb.repositories.threads import ThreadInfo

router = APIRouter(prefix="/api/v1/threads", tags=["threads"])
log = logging.getLogger("compass.api")


def _unicode(value: str | None) -> str | None:
    """JSON can carry lone surrogates ("\\ud800"); they are not text and cannot be stored."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("the text is not valid Unicode (it holds an unpaired surrogate)") from None
    return value


class NewThread(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str | None, AfterValidator(_unicode)] = Field(default=None, max_length=255)


class UserMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, AfterValidator(_unicode)] = Field(
        min_length=1, max_length=20_000, description="What the user says"
    )


class InterruptAnswer(BaseModel):
    """The answer to the pending question (text) or approval (`approved`; an explicit false never deploys)."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str | None, AfterValidator(_unicode)] = Field(default=None, max_length=20_000)
    approved: bool | None = None


def _conversation(request: Request) -> Conversation:
    conversation: Conversation | None = request.app.state.conversation
    if conversation is None:
        reason = getattr(request.app.state, "unavailable", "the database is unavailable")
        raise DatabaseUnavailableError(f"conversations are unavailable: {reason}")
    return conversation


def _sse(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Events as server-sent events; a failure after the stream started becomes a final `error` event."""
    try:
        for event in events:
            yield f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"
    except CompassError as exc:
        yield f"event: error\ndata: {json.dumps({'event': 'error', 'detail': exc.message})}\n\n"
    except Exception:
        log.exception("turn failed while streaming")
        detail = "internal error; the server log has the details"
        yield f"event: error\ndata: {json.dumps({'event': 'error', 'detail': detail})}\n\n"


def _started(events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Runs the turn up to its first event before the response starts, so a refused turn (unknown thread, empty
    text, a turn already running) is an HTTP error status rather than an event inside a 200 stream."""
    first = next(events, None)
    return itertools.chain([first] if first is not None else [], events)


@router.post("", response_model=ThreadInfo, status_code=201)
def create_thread(request: Request, user: User, body: NewThread | None = None) -> ThreadInfo:
    """Start a conversation (the body is optional); its id resumes it from the REST API, the CLI
    (`compass chat --thread`) or the UI."""
    return _conversation(request).create_thread(user, title=(body.title if body else None) or "")


@router.get("", response_model=list[ThreadInfo])
def list_threads(request: Request, user: User) -> list[ThreadInfo]:
    """The calling user's conversations, most recent first."""
    return _conversation(request).list_threads(user)


_EVENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The turn's result; with `?stream=true` or Accept: text/event-stream, server-sent events "
        "(`node`, `token`, then `turn` with this result, or `error`)",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.post("/{thread_id}/messages", response_model=TurnResult, responses=_EVENTS)
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
    if stream or _wants_events(request.headers.get("accept", "")):
        events = _started(conversation.stream(thread_id, user, body.text))
        return StreamingResponse(_sse(events), media_type="text/event-stream")
    return conversation.send(thread_id, user, body.text)


def _wants_events(accept: str) -> bool:
    """Accept names text/event-stream without q=0."""
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media == "text/event-stream":
            weights = [p.partition("=")[2].strip() for p in params if p.partition("=")[0].strip() == "q"]
            return not weights or _quality(weights[0]) > 0
    return False


def _quality(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 1.0


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
