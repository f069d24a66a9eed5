"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kb.db import Database
from kb.orm import Base
from kb.seed import SeedBundle, apply_bundle, load_bundle
from tools import curve_store
from tools.curve_matrix import CurveMatrix

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("COMPASS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("COMPASS_REQUIRE_POSTGRES") == "1"
# Services started by tests skip the start-up cache warm-up (seconds on an estimate-only knowledge base);
# tests/interfaces/test_api_warm_start.py turns it on and checks it.
os.environ.setdefault("COMPASS_WARM_START", "0")


def _postgres_admin_url() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required (COMPASS_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        return None
    return POSTGRES_URL


class PostgresDatabases:
    """Creates throwaway databases on the test server and drops them afterwards."""

    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.base = make_url(admin_url)
        self.created: list[str] = []

    def create(self) -> str:
        name = f"compass_t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases | None]:
    admin = _postgres_admin_url()
    if admin is None:
        yield None
        return
    dbs = PostgresDatabases(admin)
    yield dbs
    dbs.drop_all()


def _fresh_url(backend: str, tmp_path: Path, postgres_databases: PostgresDatabases | None) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'compass.db'}"
    if postgres_databases is None:
        pytest.skip("PostgreSQL not reachable (set COMPASS_REQUIRE_POSTGRES=1 to make this an error)")
    return postgres_databases.create()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases | None
) -> Iterator[Database]:
    """A database with no tables at all."""
    db = Database(_fresh_url(request.param, tmp_path, postgres_databases))
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def _migrated_postgres(postgres_databases: PostgresDatabases | None) -> Iterator[Database | None]:
    if postgres_databases is None:
        yield None
        return
    db = Database(postgres_databases.create())
    db.upgrade()
    yield db
    db.dispose()


def _truncate(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path, _migrated_postgres: Database | None) -> Iterator[Database]:
    """A migrated, empty database (tables exist, no rows)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'compass.db'}")
        database.upgrade()
        yield database
        database.dispose()
        return
    if _migrated_postgres is None:
        pytest.skip("PostgreSQL not reachable (set COMPASS_REQUIRE_POSTGRES=1 to make this an error)")
    _truncate(_migrated_postgres)
    yield _migrated_postgres
    _truncate(_migrated_postgres)


@pytest.fixture
def seeded_db(db: Database) -> Database:
    """A migrated database holding the bundled seed catalogs (no benchmarks)."""
    with db.session() as session:
        apply_bundle(session, load_bundle())
    return db


@pytest.fixture
def guidellm_samples() -> Path:
    return SHARED / "samples" / "guidellm"


@pytest.fixture
def small_catalog_db(db: Database) -> Database:
    """The seed catalog cut to three models and three GPUs, so estimating every profile stays quick."""
    bundle = load_bundle()
    gpus = [g for g in bundle.gpus if g.name in {"H100", "A100-80GB", "L4"}]
    names = {g.name for g in gpus}
    small = SeedBundle(
        models=bundle.models[:3],
        gpus=gpus,
        prices=[p for p in bundle.prices if p.gpu in names],
        slo_templates=bundle.slo_templates,
    )
    with db.session() as session:
        apply_bundle(session, small)
    return db


@pytest.fixture
def matrix_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts CurveMatrix builds; each build is slowed a little so concurrent callers really overlap."""
    calls: list[int] = []
    real = CurveMatrix.build

    def counting(curves: Any) -> CurveMatrix:
        calls.append(threading.get_ident())
        time.sleep(0.05)
        return real(curves)

    monkeypatch.setattr(curve_store.CurveMatrix, "build", staticmethod(counting))
    return calls
