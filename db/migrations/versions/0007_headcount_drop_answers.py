"""alarm path bookkeeping: what a count was compared with and how its drop was answered

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("headcounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("previous_moment", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("drop_answer", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("drop_answered_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("drop_answered_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_headcounts_drop_answer"),
            "drop_answer IS NULL OR drop_answer IN ('home', 'elsewhere', 'missing')",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_headcounts_drop_answered_by_users"),
            "users",
            ["drop_answered_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_headcounts_incident_id_incidents"),
            "incidents",
            ["incident_id"],
            ["id"],
            ondelete="SET NULL",
        )
        # One drop, one alarm: a second alarm for the same count cannot be stored.
        batch_op.create_unique_constraint(batch_op.f("uq_headcounts_incident_id"), ["incident_id"])


def downgrade() -> None:
    with op.batch_alter_table("headcounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_headcounts_incident_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_headcounts_incident_id_incidents"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_headcounts_drop_answered_by_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("ck_headcounts_drop_answer"), type_="check")
        batch_op.drop_column("incident_id")
        batch_op.drop_column("drop_answered_at")
        batch_op.drop_column("drop_answered_by")
        batch_op.drop_column("drop_answer")
        batch_op.drop_column("previous_moment")
        batch_op.drop_column("previous_count")
