"""outbox delivery bookkeeping: caption flag, sender, uncertain sends

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_as_caption", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("sender_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("uncertain_sends", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_sender_id_users"),
            "users",
            ["sender_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_sender_id_users"), type_="foreignkey")
        batch_op.drop_column("uncertain_sends")
        batch_op.drop_column("sender_id")
        batch_op.drop_column("sent_as_caption")
