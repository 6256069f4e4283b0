"""checklist ticks held by the pair, a class or a person; phone numbers; absences

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=30), nullable=True))
        batch_op.add_column(
            sa.Column("phone_shared_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("checklist_ticks", schema=None) as batch_op:
        batch_op.drop_constraint("uq_checklist_ticks_exchange_side_item", type_="unique")
        batch_op.alter_column(
            "side",
            new_column_name="holder",
            existing_type=sa.String(length=10),
            type_=sa.String(length=30),
            existing_nullable=False,
        )
    # A second pass: SQLite's copy of the table loses a constraint made in the renaming one.
    with op.batch_alter_table("checklist_ticks", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_checklist_ticks_exchange_holder_item", ["exchange_id", "holder", "item_key"]
        )
    # The begeleiders' ticks were shared by all of them; each is now their ticker's own.
    op.execute("DELETE FROM checklist_ticks WHERE holder = 'begeleider' AND done_by IS NULL")
    op.execute(
        "UPDATE checklist_ticks SET holder = 'user:' || CAST(done_by AS VARCHAR(20)) "
        "WHERE holder = 'begeleider'"
    )
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("phase_key", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_absences_exchange_id_exchanges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_absences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
        sa.UniqueConstraint("exchange_id", "day", "user_id", name="uq_absences_exchange_day_user"),
    )
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_absences_exchange_id"), ["exchange_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_absences_exchange_id"))
    op.drop_table("absences")
    # Personal ticks go back to being the begeleiders' shared ones (one per item).
    op.execute(
        "DELETE FROM checklist_ticks WHERE holder LIKE 'user:%' AND id NOT IN "
        "(SELECT MIN(id) FROM checklist_ticks WHERE holder LIKE 'user:%' "
        "GROUP BY exchange_id, item_key)"
    )
    op.execute("UPDATE checklist_ticks SET holder = 'begeleider' WHERE holder LIKE 'user:%'")
    op.execute("DELETE FROM checklist_ticks WHERE holder = 'pair'")
    with op.batch_alter_table("checklist_ticks", schema=None) as batch_op:
        batch_op.drop_constraint("uq_checklist_ticks_exchange_holder_item", type_="unique")
        batch_op.alter_column(
            "holder",
            new_column_name="side",
            existing_type=sa.String(length=30),
            type_=sa.String(length=10),
            existing_nullable=False,
        )
    with op.batch_alter_table("checklist_ticks", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_checklist_ticks_exchange_side_item", ["exchange_id", "side", "item_key"]
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("phone_shared_at")
        batch_op.drop_column("phone")
