"""aiosqlite as SQLAlchemy drives it, with one trip to aiosqlite's thread per statement.

aiosqlite runs each sqlite3 call on a thread of its own; every call is a trip there and back
(a queue, a thread woken, the event loop woken). SQLAlchemy's adapter makes four trips for a
statement: open a cursor, execute, fetch the rows, close the cursor. The cursor here makes
one: the statement runs on aiosqlite's thread from start to end, and what SQLAlchemy asks of
the cursor afterwards (its description, row count, last row id, rows) is what that trip
brought back. Server-side cursors (streamed results) are left as SQLAlchemy makes them; the
bot does not use them.

A transaction's BEGIN (db/session.py) travels with its first statement, in the same trip;
a transaction that ends before any statement ran began nothing, and its COMMIT or ROLLBACK
makes no trip either. A read that asks one question is then one trip and its rollback.

It leans on `aiosqlite.Connection._execute`, which queues a function for that thread: the
pyproject pins aiosqlite to the versions this was checked against.
"""

from __future__ import annotations

import collections
import sqlite3
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


@dataclass(slots=True)
class _Ran:
    """What a statement left on its sqlite3 cursor, which is closed by now."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]
    arraysize: int = 1

    async def close(self) -> None:
        """Nothing is left open."""


_NOTHING_RAN = _Ran(None, -1, None, [])


def _run(
    connection: aiosqlite.Connection,
    begin: str | None,
    operation: str,
    parameters: Any,
    many: bool,
) -> _Ran:
    """On aiosqlite's thread: the transaction's BEGIN if it is still to be said, then the
    statement from cursor to close."""
    driver = connection._conn
    if begin is not None:
        driver.execute(begin).close()
    cursor: sqlite3.Cursor = driver.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return _Ran(description, cursor.rowcount, cursor.lastrowid, rows, cursor.arraysize)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement is one trip to aiosqlite's thread."""

    __slots__ = ()

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No trip to open a cursor: each statement opens and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _NOTHING_RAN  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _ran(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection = self._adapt_connection
        async with connection._execute_mutex:
            begin = connection.take_begin() if isinstance(connection, OneTripConnection) else None
            ran: _Ran = await self._connection._execute(
                _run, self._connection, begin, operation, parameters, many
            )
        self._cursor = ran  # type: ignore[assignment]
        self._rows = collections.deque(ran.rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._ran(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._ran(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        """The sqlite3 cursor is closed already; its description stays readable."""

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """A connection whose BEGIN waits for the transaction's first statement."""

    __slots__ = ("_begin",)

    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._begin: str | None = None

    def begin_with_next(self, begin: str) -> None:
        """Say `begin` (BEGIN or BEGIN IMMEDIATE) just before the next statement."""
        self._begin = begin

    def take_begin(self) -> str | None:
        """The BEGIN still to be said, if any; said from now on."""
        begin, self._begin = self._begin, None
        return begin

    def commit(self) -> None:
        if self.take_begin() is None:
            super().commit()

    def rollback(self) -> None:
        if self.take_begin() is None:
            super().rollback()


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite module, handing out `OneTripConnection`s."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    """The module to give `create_async_engine(module=…)` for a `sqlite+aiosqlite` URL."""
    return OneTripDbapi(aiosqlite, sqlite3)
