"""Conversation threads and who owns them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, field_validator
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from kb.errors import NotFoundError
from kb.orm import ThreadRow
from kb.repositories.convert import row_values


class ThreadInfo(BaseModel):
    id: str
    owner: str
    title: str
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        """SQLite hands timestamps back without a zone; they are stored in UTC."""
        return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


_LEASE_COLUMNS = frozenset({"turn_token", "turn_started_at"})


def _info(row: ThreadRow) -> ThreadInfo:
    return ThreadInfo.model_validate(row_values(row, skip=_LEASE_COLUMNS))


def create(session: Session, thread_id: str, owner: str, title: str = "") -> ThreadInfo:
    row = ThreadRow(id=thread_id, owner=owner, title=title[:255])
    session.add(row)
    session.flush()
    session.refresh(row)
    return _info(row)


def find(session: Session, thread_id: str) -> ThreadInfo | None:
    row = session.get(ThreadRow, thread_id)
    return None if row is None else _info(row)


def get(session: Session, thread_id: str, *, owner: str) -> ThreadInfo:
    """The thread, only for its owner: someone else's thread is reported as not found (no existence leak)."""
    row = session.get(ThreadRow, thread_id)
    if row is None or row.owner != owner:
        raise NotFoundError(f"no conversation {thread_id!r} for you (GET /api/v1/threads or `compass threads list`)")
    return _info(row)


def touch(session: Session, thread_id: str, title: str | None = None) -> None:
    row = session.get(ThreadRow, thread_id)
    if row is not None:
        if title and not row.title:
            row.title = title[:255]
        row.updated_at = dt.datetime.now(dt.UTC)


def list_for(session: Session, owner: str) -> list[ThreadInfo]:
    query = select(ThreadRow).where(ThreadRow.owner == owner).order_by(ThreadRow.updated_at.desc(), ThreadRow.id)
    return [_info(r) for r in session.scalars(query)]


def delete(session: Session, thread_id: str) -> None:
    row = session.get(ThreadRow, thread_id)
    if row is not None:
        session.delete(row)


def claim_turn(session: Session, thread_id: str, token: str, *, stale_before: dt.datetime) -> bool:
    """Take the thread's turn lease if it is free or was taken before `stale_before`; one atomic UPDATE, so two
    processes racing for it cannot both win. Lease updates leave `updated_at` alone (it orders the thread list)."""
    free = or_(ThreadRow.turn_token.is_(None), ThreadRow.turn_started_at < stale_before)
    return _set_lease(session, thread_id, free, token)


def holder(session: Session, thread_id: str) -> str | None:
    """The token of the turn holding the lease, if any."""
    row = session.get(ThreadRow, thread_id)
    return None if row is None else row.turn_token


def take_over_turn(session: Session, thread_id: str, old: str, token: str) -> bool:
    """Replace a lease known to be dead (its process is gone) with `token`, unless someone else already did."""
    return _set_lease(session, thread_id, ThreadRow.turn_token == old, token)


def release_turn(session: Session, thread_id: str, token: str) -> None:
    _set_lease(session, thread_id, ThreadRow.turn_token == token, None)


def _set_lease(session: Session, thread_id: str, condition: ColumnElement[bool], token: str | None) -> bool:
    """Set (or clear, with None) the lease where `condition` holds; leaves `updated_at` alone. True if it did."""
    result = session.execute(
        update(ThreadRow)
        .where(ThreadRow.id == thread_id, condition)
        .values(
            turn_token=token,
            turn_started_at=dt.datetime.now(dt.UTC) if token is not None else None,
            updated_at=ThreadRow.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
