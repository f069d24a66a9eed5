"""`compass db`: schema management through Alembic."""

from __future__ import annotations

import typer
from rich.console import Console

from agent.cli.errors import friendly_errors
from kb.db import Database, describe_url
from kb.settings import DatabaseSettings

app = typer.Typer(help="Database schema: upgrade and inspect migrations.", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command()
@friendly_errors
def upgrade(revision: str = typer.Argument("head", help="Target Alembic revision")) -> None:
    """Apply schema migrations (the server and CLI also do this on start)."""
    db = Database.from_settings(DatabaseSettings())
    changed = db.upgrade(revision)
    state = "upgraded to" if changed else "already at"
    console.print(f"{describe_url(db.url)}: {state} revision {db.current_revision()}")


@app.command()
@friendly_errors
def current() -> None:
    """Show the database URL (password hidden) and its schema revision."""
    db = Database.from_settings(DatabaseSettings())
    db.check()
    console.print(f"{describe_url(db.url)}: revision {db.current_revision() or 'none'} (head {db.head_revision()})")
