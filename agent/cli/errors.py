"""Turns Compass errors into one readable line and a non-zero exit code, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from kb.errors import CompassError

P = ParamSpec("P")
R = TypeVar("R")
err_console = Console(stderr=True)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CompassError as exc:
            err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None

    return wrapper
