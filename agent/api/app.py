"""FastAPI application factory: database readiness on start, routes, error handling."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from agent.api.auth import AuthSettings, current_user
from agent.api.errors import ERROR_RESPONSES, install_error_handlers
from agent.api.limits import BodySizeLimit
from agent.api.routes import recommendations, reference, threads
from agent.runtime import build_services, open_conversation
from agent.settings import ServiceSettings
from kb.db import Database
from kb.errors import DatabaseUnavailableError
from kb.services import ensure_ready
from kb.settings import DatabaseSettings

log = logging.getLogger("compass.api")


class Health(BaseModel):
    status: str
    database: str
    schema_revision: str | None


def create_app(
    database: Database | None = None, settings: ServiceSettings | None = None, *, prepare_database: bool = True
) -> FastAPI:
    """Build the service. Without arguments it reads the environment (as `compass serve` does)."""
    settings = settings or ServiceSettings()
    db = database or Database.from_settings(DatabaseSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if prepare_database:
            ensure_ready(db)
        # Turns are CPU- and GIL-bound: a few at a time finish sooner than forty interleaved ones.
        to_thread.current_default_thread_limiter().total_tokens = settings.turn_concurrency
        with ExitStack() as stack:
            services = build_services(db)
            app.state.deployments = services.deployments
            app.state.planning = services.planning
            try:
                app.state.conversation = stack.enter_context(
                    open_conversation(db, services, turn_lease_s=settings.turn_lease_s)
                )
                services.deployments.reconcile()
                if settings.warm_start:
                    # The use cases' curve matrices: the first turns then cost what later ones do.
                    await to_thread.run_sync(services.planning.warm)
            except DatabaseUnavailableError as exc:
                # Serve anyway: every endpoint that needs the database answers 503 with the reason.
                log.warning("starting without conversations: %s", exc.message)
                app.state.conversation = None
                app.state.unavailable = exc.message
            yield
        if database is None:
            db.dispose()

    app = FastAPI(
        title="Compass",
        version="0.1.0",
        description="Plan, explain and deploy LLM serving configurations that meet latency SLOs.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.state.database = db
    app.state.settings = settings
    install_error_handlers(app)
    app.state.api_keys = AuthSettings().users_by_key()
    # With COMPASS_API_KEYS set every /api/v1 call needs a key (threads also use it to tell users apart).
    app.include_router(reference.router, dependencies=[Depends(current_user)])
    app.include_router(recommendations.router, dependencies=[Depends(current_user)])
    app.include_router(threads.router)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        """Liveness plus database reachability."""
        db.check()
        return Health(status="ok", database=db.dialect, schema_revision=db.current_revision())

    _mount_ui(app)
    return app


def _mount_ui(app: FastAPI) -> None:
    """The Chainlit chat at /chat on the same port (`COMPASS_UI=0` turns it off). `ui` depends on `agent`, so this is
    the one place `agent` reaches into `ui`, imported lazily."""
    importlib.import_module("ui.mount").mount_ui(app)
