"""Change counters per table area, bumped in the writing transaction, so in-process caches know when to reload."""

from __future__ import annotations

from typing import Literal, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from kb.orm import RevisionRow

Area = Literal["benchmarks", "catalog"]
_TABLE = cast(Table, RevisionRow.__table__)


def bump(session: Session, area: Area) -> None:
    """Mark `area` as changed, inside the caller's transaction."""
    updated = session.execute(_TABLE.update().where(_TABLE.c.name == area).values(revision=_TABLE.c.revision + 1))
    if not updated.rowcount:  # type: ignore[attr-defined]
        session.execute(_TABLE.insert().values(name=area, revision=1))


def current(session: Session, area: Area) -> int:
    """The area's counter (0 before its first write)."""
    value = session.execute(select(_TABLE.c.revision).where(_TABLE.c.name == area)).scalar()
    return int(value or 0)
