"""`compass serve`: run the HTTP service with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from agent.settings import ServiceSettings


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default COMPASS_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COMPASS_PORT or 8000)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default COMPASS_WORKERS or 1)")] = None,
) -> None:
    """Start the Compass service (REST API and docs at /docs); migrates and seeds the database on start."""
    settings = ServiceSettings()
    uvicorn.run(
        "agent.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level="info",
    )
