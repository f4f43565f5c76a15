"""personal skills: timers and reminders (due items), named lists and their items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00.000000

Written by hand; runs on SQLite (batch mode) and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "due_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("due_items", schema=None) as batch_op:
        batch_op.create_index("ix_due_items_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_due_items_user_kind_status", ["user_id", "kind", "status"], unique=False
        )

    op.create_table(
        "user_lists",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name", name="uq_user_lists_user_name"),
    )
    op.create_table(
        "list_items",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("list_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["user_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("list_items", schema=None) as batch_op:
        batch_op.create_index("ix_list_items_list_id", ["list_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("list_items", schema=None) as batch_op:
        batch_op.drop_index("ix_list_items_list_id")
    op.drop_table("list_items")
    op.drop_table("user_lists")
    with op.batch_alter_table("due_items", schema=None) as batch_op:
        batch_op.drop_index("ix_due_items_user_kind_status")
        batch_op.drop_index("ix_due_items_status_due")
    op.drop_table("due_items")
