"""Engine and sessions: one database session per unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import AdaptedConnection, Connection, CursorResult, Result, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

from .sqlite_driver import OneTripConnection, one_trip_dbapi

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _prepare_sqlite_dir(url: str) -> None:
    if ":///" not in url:
        return
    path = url.split(":///", 1)[1].split("?", 1)[0]
    if path and not path.startswith(":memory:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout and explicit transactions we control.

    The sqlite3 driver would otherwise open transactions lazily and DEFERRED, which under
    concurrent handlers gives "database is locked" on the upgrade from reader to writer.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Every statement is a round trip to aiosqlite's thread and back. With the one-trip
    # driver (db/sqlite_driver.py) BEGIN goes along with the transaction's first statement;
    # otherwise it is a trip of its own, straight on the driver's connection, without a
    # cursor. Most updates read once, so this and the skipped reset below are most of their
    # trips.
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        adapted = conn.connection.dbapi_connection
        if isinstance(adapted, OneTripConnection):
            adapted.begin_with_next(begin)
        elif isinstance(adapted, AdaptedConnection):
            adapted.run_async(lambda driver: driver.execute(begin))
        else:
            conn.exec_driver_sql(begin)

    # A session ends its transaction (commit or rollback) before it hands its connection
    # back, and the pool would then roll back once more, a trip that does nothing. The pool
    # is told not to (pool_reset_on_return=None, see Database) and this rolls back only a
    # connection that really comes back inside a transaction.
    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        if state.terminate_only or not state.asyncio_safe:
            return  # the pool closes this connection instead
        if isinstance(dbapi_connection, OneTripConnection) and dbapi_connection.take_begin():
            return  # its transaction never began
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if getattr(driver, "in_transaction", True):
            dbapi_connection.rollback()


class Database:
    """Owns the engine; hands out read sessions and write transactions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Parameters are what people typed (incident descriptions, evaluations): a failed
        # write must not put them in an exception message and from there in the log.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            _prepare_sqlite_dir(url)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            kwargs["pool_reset_on_return"] = None  # _configure_sqlite's "reset" does it
            if make_url(url).get_driver_name() == "aiosqlite":
                kwargs["module"] = one_trip_dbapi()
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        write_engine = (
            self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        )
        self._write = async_sessionmaker(write_engine, expire_on_commit=False)
        # SQLite has one writer at a time. Its busy timeout makes the others retry in sleeps
        # of growing length, unfairly, and gives up after SQLITE_BUSY_TIMEOUT_MS: with two
        # hundred people counting at once, some got "database is locked". Within the process
        # they queue here instead, first come first served and without a time limit; the
        # busy timeout is left for other processes (a holiday import from the command line).
        self._write_turn = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; rolled back at the end."""
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed at the end unless an exception escapes.

        On SQLite it starts with BEGIN IMMEDIATE so the write lock is taken up front.
        Never await Telegram inside it: commit first, then send.
        """
        if self._write_turn is None:
            async with self._write() as session, session.begin():
                yield session
            return
        async with self._write_turn, self._write() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


# Waiting for a database that is not there yet (a server still starting, a network hiccup
# at boot): first retry after a second, then twice as long each time, at most this long.
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 30.0


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The number of rows an UPDATE or DELETE matched.

    Such a statement's result is a CursorResult, which has the count, but `execute` is typed
    to return a plain Result, which has not.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"no row count in a {type(result).__name__}")
    return result.rowcount


def unreachable_reason(error: BaseException) -> str:
    """One short line saying why the database could not be reached (no traceback)."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


async def wait_until_reachable(
    database: Database,
    on_retry: Callable[[str, float], None],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    first: float = FIRST_RETRY_SECONDS,
    longest: float = LONGEST_RETRY_SECONDS,
) -> None:
    """Return once the database answers; until then call `on_retry(reason, seconds)` and wait.

    Waits 1, 2, 4 … up to 30 seconds between tries and never gives up by itself: the bot is
    useless without its database, and Ctrl-C (or the service manager) stops it.
    """
    delay = first
    while True:
        try:
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except (OSError, TimeoutError, DBAPIError) as error:
            on_retry(unreachable_reason(error), delay)
        await sleep(delay)
        delay = min(delay * 2, longest)
