"""turn lease

A conversation runs one turn at a time: `turn_token` names the turn holding it and `turn_started_at` when it began,
so a second message sent while a turn runs (another tab, a retry, a second worker) is refused instead of interleaving
with it in the checkpoints.

Revision ID: 0005_turn_lease
Revises: 0004_chainlit
Create Date: 2026-11-26 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_turn_lease"
down_revision: str | None = "0004_chainlit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn_token", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("turn_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("turn_started_at")
        batch_op.drop_column("turn_token")
