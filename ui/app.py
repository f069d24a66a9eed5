"""Chainlit entry point (`mount_chainlit(target="ui/app.py")`): login, data layer and chat handlers, each a thin
call into `ui.turns`. The thread id Chainlit gives a chat is the LangGraph thread id, so resuming a chat from the
sidebar resumes the exact graph state."""

# Chainlit ships type hints, but many of its methods (Message.send...) are unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import contextlib
from typing import Any

import chainlit as cl
from chainlit.config import SpontaneousFileUploadFeature
from chainlit.config import config as chainlit_config
from chainlit.data.base import BaseDataLayer
from chainlit.types import ThreadDict
from starlette.datastructures import Headers

from agent import prompts
from kb.errors import NotFoundError
from ui import runtime, turns
from ui.auth import LoginPolicy, UserDirectory
from ui.settings import UISettings
from ui.storage import build_data_layer

chainlit_config.ui.name = turns.AUTHOR
chainlit_config.ui.description = "Plan, explain and deploy LLM serving configurations that meet latency SLOs."
chainlit_config.ui.cot = "full"
chainlit_config.ui.default_theme = "light"
chainlit_config.ui.default_sidebar_state = "open"
chainlit_config.ui.layout = "wide"  # recommendation tables have ten columns
# Editing an old message would fork the conversation in the UI but not in the graph's checkpoints.
chainlit_config.features.edit_message = False
chainlit_config.features.spontaneous_file_upload = SpontaneousFileUploadFeature(enabled=False)
# Open the socket as a websocket straight away (long-polling first costs round trips on every page load).
chainlit_config.project.transports = ["websocket", "polling"]

_settings = UISettings()
policy = LoginPolicy(UserDirectory.from_config(_settings.users.get_secret_value()), _settings.header_auth)


async def password_login(username: str, password: str) -> cl.User | None:
    """`COMPASS_UI_USERS` logins (PBKDF2 runs in a worker thread: it is deliberately slow)."""
    name = await runtime.call(policy.check_password, username, password)
    return cl.User(identifier=name, metadata={"provider": "password"}) if name else None


async def header_login(headers: Headers) -> cl.User | None:
    """The proxy's user header (`COMPASS_UI_HEADER_AUTH`), or the local user when no login is configured."""
    name = policy.check_headers(headers)
    return cl.User(identifier=name, metadata={"provider": "header" if policy.header else "local"}) if name else None


if policy.passwords:
    cl.password_auth_callback(password_login)
if policy.header or policy.local_only:
    cl.header_auth_callback(header_login)


@cl.data_layer
def data_layer() -> BaseDataLayer:
    """Chainlit's SQLAlchemy data layer on the Compass database (tables from Alembic, see kb/orm_chainlit.py)."""
    return build_data_layer(runtime.database(), runtime.files_url(), on_thread_deleted=forget_conversation)


async def forget_conversation(thread_id: str, owner: str) -> None:
    """A chat deleted in the sidebar takes its conversation and graph checkpoints with it."""
    conversation = runtime.conversation()
    with contextlib.suppress(NotFoundError):  # a chat that never reached the graph (only the dashboard, say)
        await runtime.call(conversation.delete, thread_id, owner)


@cl.on_chat_start
@turns.friendly
async def start() -> None:
    # The greeting needs nothing from the database, and the page shows it when this handler returns: the commands
    # and the settings form (which read the catalog) follow in the background.
    await cl.Message(content=f"{prompts.GREETING}\n\n{turns.GREETING_TIPS}", author=turns.AUTHOR).send()
    turns.in_background(prepare_composer())


async def prepare_composer() -> None:
    await cl.context.emitter.set_commands(turns.COMMANDS)
    await turns.send_settings({})


@cl.on_chat_resume
@turns.friendly
async def resume(thread: ThreadDict) -> None:
    conversation = runtime.conversation()
    await runtime.call(conversation.create_thread, turns.owner(), thread_id=str(thread["id"]))
    await cl.context.emitter.set_commands(turns.COMMANDS)
    values, pending = await turns.thread_values(turns.owner(), str(thread["id"]))
    await turns.send_settings(values)
    if pending is not None:
        # After this handler Chainlit sends the stored history, which replaces what the page shows: the reminder
        # of the open question (with its buttons, which are not stored) has to come after it.
        turns.in_background(turns.send_pending(pending, reminder=True), delay_s=0.3)


@cl.on_message
@turns.friendly
async def message(msg: cl.Message) -> None:
    text = (msg.content or "").strip()
    if msg.command == "deployments" or text.lower() in ("/deployments", "/dashboard"):
        await turns.dashboard()
    elif msg.command == "help":
        await turns.run_turn(text="help")
    else:
        await turns.run_turn(text=msg.content)


@cl.on_settings_update
@turns.friendly
async def settings_update(settings: dict[str, Any]) -> None:
    await turns.settings_changed(settings)


@cl.action_callback(turns.ANSWER)
@turns.friendly
async def answer(action: cl.Action) -> None:
    await turns.answer(action)


@cl.action_callback(turns.APPROVAL)
@turns.friendly
async def approval(action: cl.Action) -> None:
    await turns.approve(action)


@cl.action_callback(turns.SAY)
@turns.friendly
async def say(action: cl.Action) -> None:
    await turns.say(action)


@cl.action_callback(turns.DASHBOARD)
@turns.friendly
async def deployments(action: cl.Action) -> None:
    await turns.dashboard()


@cl.action_callback(turns.PROBE)
@turns.friendly
async def probe(action: cl.Action) -> None:
    await turns.probe(action)


@cl.action_callback(turns.DELETE)
@turns.friendly
async def delete(action: cl.Action) -> None:
    await turns.delete(action)
