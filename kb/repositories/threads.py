"""Conversation threads and who owns them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import select
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


def create(session: Session, thread_id: str, owner: str, title: str = "") -> ThreadInfo:
    row = ThreadRow(id=thread_id, owner=owner, title=title[:255])
    session.add(row)
    session.flush()
    session.refresh(row)
    return ThreadInfo.model_validate(row_values(row, skip=frozenset()))


def find(session: Session, thread_id: str) -> ThreadInfo | None:
    row = session.get(ThreadRow, thread_id)
    return None if row is None else ThreadInfo.model_validate(row_values(row, skip=frozenset()))


def get(session: Session, thread_id: str, *, owner: str) -> ThreadInfo:
    """The thread, only for its owner: someone else's thread is reported as not found (no existence leak)."""
    row = session.get(ThreadRow, thread_id)
    if row is None or row.owner != owner:
        raise NotFoundError(f"no conversation {thread_id!r} for you; list yours with `compass threads list`")
    return ThreadInfo.model_validate(row_values(row, skip=frozenset()))


def touch(session: Session, thread_id: str, title: str | None = None) -> None:
    row = session.get(ThreadRow, thread_id)
    if row is not None:
        if title and not row.title:
            row.title = title[:255]
        row.updated_at = dt.datetime.now(dt.UTC)


def list_for(session: Session, owner: str) -> list[ThreadInfo]:
    query = select(ThreadRow).where(ThreadRow.owner == owner).order_by(ThreadRow.updated_at.desc(), ThreadRow.id)
    return [ThreadInfo.model_validate(row_values(r, skip=frozenset())) for r in session.scalars(query)]


def delete(session: Session, thread_id: str) -> None:
    row = session.get(ThreadRow, thread_id)
    if row is not None:
        session.delete(row)
