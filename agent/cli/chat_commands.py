"""`compass chat` and `compass threads`: talk to the agent in the terminal and inspect saved conversations."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown

from agent.cli.context import open_database
from agent.cli.errors import friendly_errors
from agent.conversation import TurnResult
from agent.prompts import GREETING
from agent.runtime import open_conversation

app = typer.Typer(help="Saved conversations: list and show (with checkpoint history).", no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def cli_user() -> str:
    return os.environ.get("COMPASS_USER", "local-user")


def _print_turn(result: TurnResult) -> None:
    for reply in result.replies:
        console.print(Markdown(reply))
    if result.pending and result.pending.options:
        console.print("options: " + " | ".join(result.pending.options), style="dim", highlight=False)


@friendly_errors
def chat(
    thread: Annotated[str | None, typer.Option("--thread", "-t", help="Resume this conversation id")] = None,
    message: Annotated[list[str] | None, typer.Option("--message", "-m", help="Send these and exit")] = None,
) -> None:
    """Chat with Compass in the terminal. `--thread ID` resumes a saved conversation; Ctrl-D or /quit ends."""
    user = cli_user()
    with open_conversation(open_database()) as conversation:
        info = conversation.create_thread(user, thread_id=thread)
        if thread and info.id == thread:
            state = conversation.state(info.id, user)
            console.print(f"resumed conversation {info.id} ({len(state.messages)} messages)", style="dim")
            if state.messages:
                console.print(Markdown(state.messages[-1].content))
            if state.pending:
                console.print(Markdown(state.pending.question))
        else:
            console.print(f"conversation {info.id} (resume with `compass chat --thread {info.id}`)", style="dim")
            console.print(Markdown(GREETING))
        if message:
            for text in message:
                console.print(f"> {text}", style="bold", highlight=False)
                _print_turn(conversation.send(info.id, user, text))
            return
        while True:
            try:
                text = console.input("[bold]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if text in ("/quit", "/exit"):
                return
            if text:
                try:
                    _print_turn(conversation.send(info.id, user, text))
                except Exception as exc:  # noqa: BLE001 - one failed turn must not end the chat
                    console.print(f"[red]That turn failed:[/] {getattr(exc, 'message', exc)}")


@app.command("list")
@friendly_errors
def list_threads(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Your conversations, most recent first."""
    with open_conversation(open_database()) as conversation:
        items = conversation.list_threads(cli_user())
    if as_json:
        console.print_json(json.dumps([t.model_dump(mode="json") for t in items]))
        return
    for t in items:
        when = f"{t.updated_at:%Y-%m-%d %H:%M}" if t.updated_at else ""
        console.print(f"{t.id}  {when}  {t.title}", highlight=False)


@app.command("show")
@friendly_errors
def show_thread(
    thread_id: str,
    history: Annotated[bool, typer.Option("--history", help="List every checkpoint")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A conversation's messages, pending question and state; `--history` lists its checkpoints."""
    with open_conversation(open_database()) as conversation:
        state = conversation.state(thread_id, cli_user())
        entries = conversation.history(thread_id, cli_user()) if history else []
    if as_json:
        console.print_json(
            json.dumps(
                {"state": state.model_dump(mode="json"), "history": [e.model_dump(mode="json") for e in entries]}
            )
        )
        return
    for m in state.messages:
        console.print(f"[bold]{m.role}:[/]")
        console.print(Markdown(m.content))
    if state.pending:
        console.print(f"[yellow]waiting for:[/] {state.pending.question}", highlight=False)
    console.print(f"phase: {state.values.get('phase')}", style="dim")
    for e in entries:
        console.print(
            f"checkpoint {e.checkpoint_id} step {e.step} {e.created_at} next={e.next} "
            f"messages={e.messages} phase={e.phase}",
            style="dim",
            highlight=False,
        )
