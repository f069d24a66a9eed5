"""What the chat handlers run on: the service's conversation (built by the API lifespan) and worker threads.

The graph and its checkpointer are synchronous, so every call into them runs in a worker thread (the same
`anyio` limiter the REST API uses, so turns share its concurrency limit) and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from anyio import to_thread
from fastapi import FastAPI

from agent.conversation import Conversation
from kb.db import Database
from kb.errors import CompassError
from tools.deploy.service import DeploymentService

P = ParamSpec("P")
T = TypeVar("T")

_app: FastAPI | None = None
_files_url = "/chat/element-files"


class NotReadyError(CompassError):
    """The service is starting or stopping, so the conversation is not there."""


def bind(app: FastAPI, *, files_url: str | None = None) -> None:
    """Handlers use this app's `state.conversation` (one chat app per process: Chainlit's server is global)."""
    global _app, _files_url
    _app = app
    if files_url is not None:
        _files_url = files_url


def files_url() -> str:
    """Where stored chat elements (charts, manifests) are served from."""
    return _files_url


def conversation() -> Conversation:
    state = getattr(_app, "state", None)
    found = getattr(state, "conversation", None)
    if not isinstance(found, Conversation):
        raise NotReadyError("Compass is still starting up; try again in a few seconds.")
    return found


def database() -> Database:
    state = getattr(_app, "state", None)
    found = getattr(state, "database", None)
    if not isinstance(found, Database):
        raise NotReadyError("Compass is still starting up; try again in a few seconds.")
    return found


def deployments() -> DeploymentService:
    return conversation().services.deployments


async def call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a synchronous call (graph, database, deployment) in a worker thread."""
    return await to_thread.run_sync(lambda: function(*args, **kwargs))


async def iterate(events: Callable[[], Iterator[dict[str, Any]]]) -> AsyncIterator[dict[str, Any]]:
    """Consume a synchronous event stream (`Conversation.stream`) in a worker thread, yielding as events arrive."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def produce() -> None:
        try:
            for event in events():
                loop.call_soon_threadsafe(queue.put_nowait, ("event", event))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, ("done", None))

    worker = asyncio.ensure_future(to_thread.run_sync(produce))
    try:
        while True:
            kind, value = await queue.get()
            if kind == "event":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        await asyncio.shield(worker)  # a turn in flight finishes (and is checkpointed) even if the user stops
