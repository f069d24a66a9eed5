"""Database access: one engine and session factory per process, schema upgrades through Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kb.errors import ConfigurationError, DatabaseUnavailableError
from kb.settings import DatabaseSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _enable_sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    # SQLAlchemy, not pysqlite, decides when transactions begin (see _begin_immediately).
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediately(connection: Connection) -> None:
    """Write transactions take SQLite's write lock up front: a deferred transaction that later upgrades its lock
    fails at once with "database is locked" when another writer is active, whatever the busy timeout."""
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


class Database:
    """Owns the engine and session factory for one database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigurationError(
                f"COMPASS_DATABASE_URL is not a valid database URL ({url!r}); "
                "use e.g. sqlite:///path/compass.db or postgresql+psycopg://user@host:5432/db"
            ) from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, object] = {"echo": echo, "future": True}
        if self.dialect == "postgresql":
            kwargs.update(
                pool_pre_ping=True,
                pool_recycle=1800,
                pool_size=10,
                max_overflow=20,
                connect_args={"connect_timeout": 5},
            )
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise ConfigurationError(f"cannot use database URL {describe_url(url)}: {exc}") from exc
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _enable_sqlite_foreign_keys)
            event.listen(self.engine, "begin", _begin_immediately)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads that need no transaction skip BEGIN/COMMIT: one round trip per query on PostgreSQL.
        self.read_sessions = sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    @classmethod
    def from_settings(cls, settings: DatabaseSettings | None = None) -> Database:
        settings = settings or DatabaseSettings()
        return cls(settings.resolved_url(), echo=settings.database_echo)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        try:
            with self.sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise DatabaseUnavailableError(self._unavailable_message(exc)) from exc

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only, in autocommit mode (no transaction): the fast path for hot lookups."""
        try:
            with self.read_sessions() as session:
                yield session
        except OperationalError as exc:
            raise DatabaseUnavailableError(self._unavailable_message(exc)) from exc

    def _unavailable_message(self, exc: SQLAlchemyError) -> str:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        return f"database {describe_url(self.url)} is unavailable: {reason}"

    def check(self) -> None:
        """Raise DatabaseUnavailableError unless a trivial query succeeds."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise DatabaseUnavailableError(self._unavailable_message(exc)) from exc

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def upgrade(self, revision: str = "head") -> bool:
        """Apply migrations up to `revision`; returns True when anything changed."""
        try:
            before = self.current_revision()
            if revision == "head" and before == self.head_revision():
                return False
            with self.engine.begin() as conn:
                config = self.alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
            return self.current_revision() != before
        except OperationalError as exc:
            raise DatabaseUnavailableError(self._unavailable_message(exc)) from exc

    def downgrade(self, revision: str) -> None:
        with self.engine.begin() as conn:
            config = self.alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, revision)

    def dispose(self) -> None:
        self.engine.dispose()
