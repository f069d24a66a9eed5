"""What every CLI command needs: an upgraded database from the environment's settings."""

from __future__ import annotations

from kb.db import Database
from kb.services import ensure_ready
from kb.settings import DatabaseSettings


def open_database(*, seed_if_empty: bool = True) -> Database:
    """The configured database, migrated to head (and seeded when its catalog is empty)."""
    db = Database.from_settings(DatabaseSettings())
    if seed_if_empty:
        ensure_ready(db)
    else:
        db.upgrade()
    return db
