"""Chainlit's persistence tables (users, threads, steps, elements, feedbacks) and the element store, owned by Alembic.

Chainlit's `SQLAlchemyDataLayer` writes these with raw SQL and only logs a warning when a column is missing, so the
names and types here follow what its code inserts (Chainlit 2.12: `Step.to_dict`, `Message.to_dict`,
`Element.to_dict`, `Feedback`) and reads, not only its published DDL (which lacks `steps.autoCollapse` and
`steps.modes`, and types `elements.props` JSONB although `get_element` parses it as text).
Column names are Chainlit's camelCase; ids are UUIDs on PostgreSQL and text on SQLite.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from kb.orm import Base

ChainlitId: TypeEngine[str] = Uuid(as_uuid=False).with_variant(Text(), "sqlite")
"""Chainlit ids are UUID strings: a native UUID on PostgreSQL, plain text on SQLite."""
ChainlitJSON: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
ChainlitTags: TypeEngine[Any] = JSON().with_variant(ARRAY(Text()), "postgresql")
"""A list of strings: TEXT[] on PostgreSQL (as Chainlit documents), JSON text on SQLite."""


class ChainlitUserRow(Base):
    """A person who logged in to the chat UI; `identifier` is the Compass user name (the conversation owner)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ChainlitId, primary_key=True)
    identifier: Mapped[str] = mapped_column(Text, unique=True)
    metadata_: Mapped[Any] = mapped_column("metadata", ChainlitJSON)
    created_at: Mapped[str | None] = mapped_column("createdAt", Text, nullable=True)


class ChainlitThreadRow(Base):
    """A chat thread as the UI lists it; its id is also the LangGraph thread id (see `kb.orm.ThreadRow`)."""

    __tablename__ = "threads"

    id: Mapped[str] = mapped_column(ChainlitId, primary_key=True)
    created_at: Mapped[str | None] = mapped_column("createdAt", Text, nullable=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_id: Mapped[str | None] = mapped_column(
        "userId", ChainlitId, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    user_identifier: Mapped[str | None] = mapped_column("userIdentifier", Text, nullable=True)
    tags: Mapped[Any] = mapped_column(ChainlitTags, nullable=True)
    metadata_: Mapped[Any] = mapped_column("metadata", ChainlitJSON, nullable=True)


class ChainlitStepRow(Base):
    """A message or a tool step shown in a thread."""

    __tablename__ = "steps"

    id: Mapped[str] = mapped_column(ChainlitId, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    thread_id: Mapped[str] = mapped_column(
        "threadId", ChainlitId, ForeignKey("threads.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[str | None] = mapped_column("parentId", ChainlitId, nullable=True)
    streaming: Mapped[bool] = mapped_column(Boolean)
    wait_for_answer: Mapped[bool | None] = mapped_column("waitForAnswer", Boolean, nullable=True)
    is_error: Mapped[bool | None] = mapped_column("isError", Boolean, nullable=True)
    metadata_: Mapped[Any] = mapped_column("metadata", ChainlitJSON, nullable=True)
    tags: Mapped[Any] = mapped_column(ChainlitTags, nullable=True)
    input: Mapped[str | None] = mapped_column(Text, nullable=True)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[str | None] = mapped_column("createdAt", Text, nullable=True)
    command: Mapped[str | None] = mapped_column(Text, nullable=True)
    modes: Mapped[Any] = mapped_column(ChainlitJSON, nullable=True)
    start: Mapped[str | None] = mapped_column(Text, nullable=True)
    end: Mapped[str | None] = mapped_column(Text, nullable=True)
    generation: Mapped[Any] = mapped_column(ChainlitJSON, nullable=True)
    show_input: Mapped[str | None] = mapped_column("showInput", Text, nullable=True)
    language: Mapped[str | None] = mapped_column(Text, nullable=True)
    indent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    default_open: Mapped[bool | None] = mapped_column("defaultOpen", Boolean, nullable=True)
    auto_collapse: Mapped[bool | None] = mapped_column("autoCollapse", Boolean, nullable=True)


class ChainlitElementRow(Base):
    """A chart, file or other attachment of a step; its bytes live in `ui_files` under `objectKey`."""

    __tablename__ = "elements"

    id: Mapped[str] = mapped_column(ChainlitId, primary_key=True)
    thread_id: Mapped[str | None] = mapped_column(
        "threadId", ChainlitId, ForeignKey("threads.id", ondelete="CASCADE"), nullable=True, index=True
    )
    type: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    chainlit_key: Mapped[str | None] = mapped_column("chainlitKey", Text, nullable=True)
    name: Mapped[str] = mapped_column(Text)
    display: Mapped[str | None] = mapped_column(Text, nullable=True)
    object_key: Mapped[str | None] = mapped_column("objectKey", Text, nullable=True)
    size: Mapped[str | None] = mapped_column(Text, nullable=True)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str | None] = mapped_column(Text, nullable=True)
    for_id: Mapped[str | None] = mapped_column("forId", ChainlitId, nullable=True)
    mime: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Text with a "{}" default: `get_element` json.loads() it, which fails on NULL and on a decoded JSONB dict.
    props: Mapped[str | None] = mapped_column(Text, nullable=True, server_default="{}")
    auto_play: Mapped[bool | None] = mapped_column("autoPlay", Boolean, nullable=True)
    player_config: Mapped[Any] = mapped_column("playerConfig", ChainlitJSON, nullable=True)


class ChainlitFeedbackRow(Base):
    """A thumbs up/down on a step."""

    __tablename__ = "feedbacks"

    id: Mapped[str] = mapped_column(ChainlitId, primary_key=True)
    for_id: Mapped[str] = mapped_column("forId", ChainlitId, index=True)
    thread_id: Mapped[str] = mapped_column("threadId", ChainlitId, ForeignKey("threads.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class UIFileRow(Base):
    """Bytes of a persisted chat element (chart JSON, manifest YAML), so a resumed thread shows them again."""

    __tablename__ = "ui_files"

    object_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    mime: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
