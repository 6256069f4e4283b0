"""coordinator rights source and audit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coordinator_source", sa.String(length=10), nullable=True))
    # Until now every coordinator came from COORDINATOR_IDS; the next start checks them.
    op.execute("UPDATE users SET coordinator_source = 'setting' WHERE is_coordinator")
    op.create_table(
        "coordinator_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("changed_by", sa.BigInteger(), nullable=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('setting', 'command')", name=op.f("ck_coordinator_changes_source")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.id"],
            name=op.f("fk_coordinator_changes_changed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_coordinator_changes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordinator_changes")),
    )
    with op.batch_alter_table("coordinator_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coordinator_changes_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("coordinator_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coordinator_changes_user_id"))
    op.drop_table("coordinator_changes")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("coordinator_source")
