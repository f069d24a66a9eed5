"""FastAPI application factory: database readiness on start, routes, error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from agent.api.errors import install_error_handlers
from agent.api.routes import recommendations, reference
from agent.settings import ServiceSettings
from kb.db import Database
from kb.services import ensure_ready
from kb.settings import DatabaseSettings
from tools.planning_service import PlanningService


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
        yield
        if database is None:
            db.dispose()

    app = FastAPI(
        title="Compass",
        version="0.1.0",
        description="Plan, explain and deploy LLM serving configurations that meet latency SLOs.",
        lifespan=lifespan,
    )
    app.state.database = db
    app.state.settings = settings
    install_error_handlers(app)
    app.state.planning = PlanningService(db)
    app.include_router(reference.router)
    app.include_router(recommendations.router)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        """Liveness plus database reachability."""
        db.check()
        return Health(status="ok", database=db.dialect, schema_revision=db.current_revision())

    return app
