"""chainlit

Chainlit's data-layer tables (users, threads, steps, elements, feedbacks) and the element store (ui_files). Chainlit
needs the name `threads`, so Compass's own conversation table moves to `conversations` first (rows are kept).

Revision ID: 0004_chainlit
Revises: 0003_threads
Create Date: 2026-11-26 10:54:57.457545
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_chainlit"
down_revision: str | None = "0003_threads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[str]:
    return sa.Uuid(as_uuid=False).with_variant(sa.Text(), "sqlite")


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _tags() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")


def _conversation_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_owner"), ["owner"], unique=False)


def _copy_conversations(source: str, target: str) -> None:
    op.execute(
        f"INSERT INTO {target} (id, owner, title, created_at, updated_at) "
        f"SELECT id, owner, title, created_at, updated_at FROM {source}"
    )


def upgrade() -> None:

    _conversation_table("conversations")
    _copy_conversations("threads", "conversations")
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_threads_owner"))
    op.drop_table("threads")

    op.create_table(
        "ui_files",
        sa.Column("object_key", sa.String(length=512), nullable=False),
        sa.Column("mime", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("object_key", name=op.f("pk_ui_files")),
    )
    op.create_table(
        "users",
        sa.Column("id", _id(), nullable=False),
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("createdAt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("identifier", name=op.f("uq_users_identifier")),
    )
    op.create_table(
        "threads",
        sa.Column("id", _id(), nullable=False),
        sa.Column("createdAt", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("userId", _id(), nullable=True),
        sa.Column("userIdentifier", sa.Text(), nullable=True),
        sa.Column("tags", _tags(), nullable=True),
        sa.Column("metadata", _json(), nullable=True),
        sa.ForeignKeyConstraint(["userId"], ["users.id"], name=op.f("fk_threads_userId_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threads")),
    )
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_threads_userId"), ["userId"], unique=False)

    op.create_table(
        "elements",
        sa.Column("id", _id(), nullable=False),
        sa.Column("threadId", _id(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("chainlitKey", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("objectKey", sa.Text(), nullable=True),
        sa.Column("size", sa.Text(), nullable=True),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("forId", _id(), nullable=True),
        sa.Column("mime", sa.Text(), nullable=True),
        sa.Column("props", sa.Text(), server_default="{}", nullable=True),
        sa.Column("autoPlay", sa.Boolean(), nullable=True),
        sa.Column("playerConfig", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["threadId"], ["threads.id"], name=op.f("fk_elements_threadId_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elements")),
    )
    with op.batch_alter_table("elements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_elements_threadId"), ["threadId"], unique=False)

    op.create_table(
        "feedbacks",
        sa.Column("id", _id(), nullable=False),
        sa.Column("forId", _id(), nullable=False),
        sa.Column("threadId", _id(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["threadId"], ["threads.id"], name=op.f("fk_feedbacks_threadId_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedbacks")),
    )
    with op.batch_alter_table("feedbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedbacks_forId"), ["forId"], unique=False)

    op.create_table(
        "steps",
        sa.Column("id", _id(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("threadId", _id(), nullable=False),
        sa.Column("parentId", _id(), nullable=True),
        sa.Column("streaming", sa.Boolean(), nullable=False),
        sa.Column("waitForAnswer", sa.Boolean(), nullable=True),
        sa.Column("isError", sa.Boolean(), nullable=True),
        sa.Column("metadata", _json(), nullable=True),
        sa.Column("tags", _tags(), nullable=True),
        sa.Column("input", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("createdAt", sa.Text(), nullable=True),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("modes", _json(), nullable=True),
        sa.Column("start", sa.Text(), nullable=True),
        sa.Column("end", sa.Text(), nullable=True),
        sa.Column("generation", _json(), nullable=True),
        sa.Column("showInput", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("indent", sa.Integer(), nullable=True),
        sa.Column("defaultOpen", sa.Boolean(), nullable=True),
        sa.Column("autoCollapse", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["threadId"], ["threads.id"], name=op.f("fk_steps_threadId_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_steps_threadId"), ["threadId"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_threadId"))
    op.drop_table("steps")
    with op.batch_alter_table("feedbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedbacks_forId"))
    op.drop_table("feedbacks")
    with op.batch_alter_table("elements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_elements_threadId"))
    op.drop_table("elements")
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_threads_userId"))
    op.drop_table("threads")
    op.drop_table("users")
    op.drop_table("ui_files")

    _conversation_table("threads")
    _copy_conversations("conversations", "threads")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_owner"))
    op.drop_table("conversations")
