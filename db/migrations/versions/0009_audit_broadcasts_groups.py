"""audit log, broadcasts, groups, day assignments, gathered notices

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 10:36:30.794382
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_kind", sa.String(length=10), nullable=True),
        sa.Column("media_file_id", sa.String(length=200), nullable=True),
        sa.Column("media_filename", sa.String(length=200), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("read_button", sa.Boolean(), nullable=False),
        sa.Column("send_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("confirm_key", sa.String(length=60), nullable=False),
        sa.Column("reported_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "media_kind IS NULL OR media_kind IN ('photo', 'document')",
            name=op.f("ck_broadcasts_media_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sending', 'done', 'cancelled')",
            name=op.f("ck_broadcasts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_broadcasts_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("confirm_key", name=op.f("uq_broadcasts_confirm_key")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_audit_log_exchange_id_exchanges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_exchange_at", ["exchange_id", "at"], unique=False)

    op.create_table(
        "broadcast_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_reads_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_broadcast_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_reads")),
        sa.UniqueConstraint("broadcast_id", "user_id", name="uq_broadcast_reads_broadcast_user"),
    )
    op.create_table(
        "group_links",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("linked_by", sa.BigInteger(), nullable=True),
        sa.Column("linked_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["users.id"], name=op.f("fk_group_links_chat_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_group_links_exchange_id_exchanges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by"],
            ["users.id"],
            name=op.f("fk_group_links_linked_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_group_links")),
    )
    with op.batch_alter_table("group_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_links_exchange_id"), ["exchange_id"], unique=False
        )

    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("days", sa.JSON(), nullable=True))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_broadcast_id"), ["broadcast_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_broadcast_id_broadcasts"),
            "broadcasts",
            ["broadcast_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gather_notices", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("is_group", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invites_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_invites_role"), "role IN ('teacher', 'begeleider', 'group')"
        )


def downgrade() -> None:
    op.execute("DELETE FROM invites WHERE role = 'group'")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invites_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_invites_role"), "role IN ('teacher', 'begeleider')"
        )
    op.execute("DELETE FROM users WHERE is_group")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_group")
        batch_op.drop_column("gather_notices")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_broadcast_id_broadcasts"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_broadcast_id"))
        batch_op.drop_column("broadcast_id")

    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("days")

    with op.batch_alter_table("group_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_links_exchange_id"))

    op.drop_table("group_links")
    op.drop_table("broadcast_reads")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_exchange_at")

    op.drop_table("audit_log")
    op.drop_table("broadcasts")
