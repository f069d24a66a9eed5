"""Checkpointer factory: LangGraph's SQLite or PostgreSQL saver on the same database as the knowledge base."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from kb.db import describe_url
from kb.errors import ConfigurationError, DatabaseUnavailableError


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigurationError("conversation checkpoints need a SQLite file, not an in-memory database")
    return Path(database)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver[str]]:
    """A ready saver (tables created) for the database URL; closed on exit."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        connection = sqlite3.connect(sqlite_path(url), check_same_thread=False, timeout=30)
        try:
            saver = SqliteSaver(connection)
            saver.setup()
            yield saver
        finally:
            connection.close()
        return
    if backend == "postgresql":
        pool = ConnectionPool(
            libpq_url(url),
            min_size=1,
            max_size=20,
            timeout=10,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row, "connect_timeout": 5},
            open=False,
        )
        try:
            pool.open(wait=True, timeout=10)
            saver_pg = PostgresSaver(pool)  # type: ignore[arg-type]
            saver_pg.setup()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            pool.close()
            raise DatabaseUnavailableError(f"database {describe_url(url)} is unavailable: {exc}") from exc
        with pool:
            yield saver_pg
        return
    raise ConfigurationError(f"conversation checkpoints support SQLite and PostgreSQL, not {backend}")
