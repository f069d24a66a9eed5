"""The schema is created and evolved only by Alembic, identically on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from kb.db import Database
from kb.orm import Base


def test_upgrade_creates_every_table_of_the_orm(empty_db: Database) -> None:
    assert empty_db.upgrade() is True
    tables = set(inspect(empty_db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert empty_db.current_revision() == empty_db.head_revision()


def test_second_upgrade_reports_nothing_to_do(empty_db: Database) -> None:
    empty_db.upgrade()
    assert empty_db.upgrade() is False


def test_downgrade_to_base_removes_the_tables(empty_db: Database) -> None:
    empty_db.upgrade()
    empty_db.downgrade("base")
    assert "benchmarks" not in inspect(empty_db.engine).get_table_names()


def test_migrations_match_the_orm_models(empty_db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    empty_db.upgrade()
    with empty_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
