"""Conversions between Pydantic domain objects and ORM column values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import DeclarativeBase


def column_values(spec: BaseModel) -> dict[str, Any]:
    """Flat column values for a domain object: dates stay dates, everything else is JSON-ready."""
    jsonable = spec.model_dump(mode="json")
    return {name: value if isinstance(value := getattr(spec, name), dt.date) else jsonable[name] for name in jsonable}


def row_values(row: DeclarativeBase, *, skip: frozenset[str] = frozenset({"id", "updated_at"})) -> dict[str, Any]:
    """Column values of an ORM row, without surrogate keys and bookkeeping columns."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}
