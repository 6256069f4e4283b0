"""Many new rows of one table written at once, the way each database takes them fastest.

SQLAlchemy's `execute(insert(table), rows)` works through every row's parameters in Python
(which of the statement's parameters it has, then each value's conversion), and PostgreSQL
then runs the INSERT once per row. Planning writes some fifty rows per pair, a thousand per
chunk of pairs, and that per-row work was a large part of its time:

- On PostgreSQL the rows go as one array per column, unpacked by `unnest` in a single
  INSERT: one statement, one plan, one trip.
- On SQLite the rows go to sqlite3's `executemany` as tuples, already converted: the same
  statement SQLAlchemy would run, without its per-row bookkeeping.

Either way each value is converted by its column's own type for the dialect (a JSON column
serialised, a UTC datetime as it is stored), as SQLAlchemy would have done it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


def _converters(
    table: Table, names: Sequence[str], dialect: Dialect
) -> list[Callable[[Any], Any] | None]:
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]


def _columns(
    rows: Sequence[Mapping[str, Any]], names: Sequence[str], dialect: Dialect, table: Table
) -> list[list[Any]]:
    """One list of converted values per column, in the order of `names`."""
    columns: list[list[Any]] = []
    for name, convert in zip(names, _converters(table, names, dialect), strict=True):
        values = [row[name] for row in rows]
        columns.append(values if convert is None else [convert(value) for value in values])
    return columns


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """INSERT `rows` into `table` in the session's transaction; nothing is returned.

    Every row has the same keys, each a column of the table. Unlike `insert(table)`, no
    Python-side column default is filled in, so a column that has one must be given."""
    if not rows:
        return
    names = list(rows[0])
    keys = rows[0].keys()
    if any(row.keys() != keys for row in rows):
        raise ValueError(f"rows for {table.name} differ in their columns")
    defaulted = sorted(c.name for c in table.c if c.default is not None and c.name not in keys)
    if defaulted:
        raise ValueError(f"rows for {table.name} without {', '.join(defaulted)}")
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name not in ("postgresql", "sqlite"):
        await connection.execute(insert(table), [dict(row) for row in rows])
        return
    quote = dialect.identifier_preparer
    target = f"{quote.format_table(table)} ({', '.join(quote.quote(name) for name in names)})"
    columns = _columns(rows, names, dialect, table)
    if dialect.name == "postgresql":
        arrays = ", ".join(
            f"CAST(:c{index} AS {table.c[name].type.compile(dialect=dialect)}[])"
            for index, name in enumerate(names)
        )
        statement = text(f"INSERT INTO {target} SELECT * FROM unnest({arrays})")
        await connection.execute(
            statement, {f"c{index}": values for index, values in enumerate(columns)}
        )
        return
    marks = ", ".join(["?"] * len(names))  # sqlite3's own parameter style
    await connection.exec_driver_sql(
        f"INSERT INTO {target} VALUES ({marks})", list(zip(*columns, strict=True))
    )
