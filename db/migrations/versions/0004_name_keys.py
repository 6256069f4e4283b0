"""normalised name keys for unicode-aware comparison

Schools and exchange cities get a key column (NFKC, case-folded, whitespace collapsed),
filled from the names already stored. Schools that only differed in case or accents
(possible before, because SQLite's lower() is ASCII-only) are merged into the oldest one,
so the new unique constraint holds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.domain.names import name_key

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lightweight table views for the data step (the models may have moved on since).
_schools = sa.table(
    "schools",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("city", sa.String),
    sa.column("address", sa.String),
    sa.column("name_key", sa.String),
    sa.column("city_key", sa.String),
)
_exchanges = sa.table(
    "exchanges",
    sa.column("id", sa.Integer),
    sa.column("city", sa.String),
    sa.column("city_key", sa.String),
)
_sides = sa.table("exchange_sides", sa.column("id", sa.Integer), sa.column("school_id", sa.Integer))


def _backfill() -> None:
    bind = op.get_bind()
    kept: dict[tuple[str, str], int] = {}
    schools = bind.execute(
        sa.select(_schools.c.id, _schools.c.name, _schools.c.city, _schools.c.address).order_by(
            _schools.c.id
        )
    ).all()
    for school_id, name, city, address in schools:
        key = (name_key(city), name_key(name))
        first = kept.get(key)
        if first is None:
            kept[key] = school_id
            bind.execute(
                _schools.update()
                .where(_schools.c.id == school_id)
                .values(city_key=key[0], name_key=key[1])
            )
            continue
        # The same school typed differently: its pairs move to the first one, whose address
        # is completed from this one if it had none.
        bind.execute(_sides.update().where(_sides.c.school_id == school_id).values(school_id=first))
        if address:
            bind.execute(
                _schools.update()
                .where(_schools.c.id == first, _schools.c.address.is_(None))
                .values(address=address)
            )
        bind.execute(_schools.delete().where(_schools.c.id == school_id))
    for exchange_id, city in bind.execute(sa.select(_exchanges.c.id, _exchanges.c.city)).all():
        bind.execute(
            _exchanges.update()
            .where(_exchanges.c.id == exchange_id)
            .values(city_key=name_key(city))
        )


def upgrade() -> None:
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("city_key", sa.String(length=200), nullable=True))
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("city_key", sa.String(length=200), nullable=True))
    _backfill()
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=400), nullable=False)
        batch_op.alter_column("city_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint("uq_schools_city_name", type_="unique")
        batch_op.create_unique_constraint("uq_schools_city_key_name_key", ["city_key", "name_key"])
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.alter_column("city_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_index(batch_op.f("ix_exchanges_city_key"), ["city_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchanges_city_key"))
        batch_op.drop_column("city_key")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_constraint("uq_schools_city_key_name_key", type_="unique")
        batch_op.create_unique_constraint("uq_schools_city_name", ["city", "name"])
        batch_op.drop_column("city_key")
        batch_op.drop_column("name_key")
