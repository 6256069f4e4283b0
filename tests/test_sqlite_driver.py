"""The SQLite driver (db/sqlite_driver.py): one trip to aiosqlite's thread per statement, the
transaction's BEGIN along with its first statement, and everything SQLAlchemy reads of a
cursor as the plain driver gives it. SQLite only: on its own database file, whatever the
suite's database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError

from db import migrate
from db.models import User
from db.session import Database
from db.sqlite_driver import OneTripConnection

NOW = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


def _user(user_id: int, name: str, language: str = "nl") -> dict[str, Any]:
    return {
        "id": user_id,
        "display_name": name,
        "language": language,
        "created_at": NOW,
        "last_seen_at": NOW,
    }


class Trips:
    """Counts the functions queued for aiosqlite's thread, and names the sqlite3 calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        original = aiosqlite.Connection._execute

        async def counted(connection: aiosqlite.Connection, fn: Callable[..., Any], *a: Any) -> Any:
            self.calls.append(getattr(fn, "__name__", repr(fn)))
            return await original(connection, fn, *a)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    await migrate.upgrade(database.engine)
    async with database.write() as session:
        session.add(User(**_user(1, "Anna")))
    try:
        yield database
    finally:
        await database.dispose()


async def test_the_engine_uses_the_one_trip_connection(db: Database) -> None:
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)


async def test_a_read_of_one_question_is_the_question_and_its_rollback(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = Trips(monkeypatch)
    async with db.read() as session:
        name = await session.scalar(select(User.display_name).where(User.id == 1))
    assert name == "Anna"
    assert trips.take() == ["_run", "rollback"]


async def test_a_transaction_without_a_statement_makes_no_trip(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = Trips(monkeypatch)
    async with db.write():
        pass
    async with db.read() as session:
        await session.flush()
    assert trips.take() == []
    # And the connections are as good as new: the next write commits.
    async with db.write() as session:
        await session.execute(update(User).where(User.id == 1).values(display_name="Anne"))
    async with db.read() as session:
        assert await session.scalar(select(User.display_name)) == "Anne"


async def test_a_read_sees_one_moment_though_others_write_between_its_questions(
    db: Database,
) -> None:
    async with db.read() as session:
        before = await session.scalar(select(User.display_name).where(User.id == 1))
        async with db.write() as writing:
            await writing.execute(update(User).where(User.id == 1).values(display_name="Anne"))
        again = await session.scalar(
            select(User.display_name).where(User.id == 1).execution_options(populate_existing=True)
        )
    assert before == again == "Anna"
    async with db.read() as session:
        assert await session.scalar(select(User.display_name).where(User.id == 1)) == "Anne"


async def test_a_write_holds_the_lock_from_its_first_statement(db: Database) -> None:
    """BEGIN IMMEDIATE still comes first: another connection cannot write meanwhile."""
    path = db.url.split(":///", 1)[1]
    async with db.write() as session:
        await session.execute(update(User).where(User.id == 1).values(display_name="Anne"))
        async with aiosqlite.connect(path, timeout=0.05) as other:
            with pytest.raises(aiosqlite.OperationalError, match="locked"):
                await other.execute("BEGIN IMMEDIATE")


async def test_row_counts_objects_and_many_rows_come_back(db: Database) -> None:
    async with db.write() as session:
        await session.execute(insert(User), [_user(n, f"U{n}", "en") for n in (2, 3, 4)])
        changed = await session.execute(
            update(User).where(User.language == "en").values(language="nl")
        )
        assert changed.rowcount == 3  # type: ignore[attr-defined]
        added = User(**_user(10, "Tien"))
        session.add(added)
        await session.flush()
        assert added.is_coordinator is False  # its defaults came back from the INSERT
    async with db.read() as session:
        names = (await session.scalars(select(User.display_name).order_by(User.id))).all()
        count = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
    assert names == ["Anna", "U2", "U3", "U4", "Tien"]
    assert count == 5


async def test_a_failing_statement_raises_as_before_and_changes_nothing(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await session.execute(update(User).where(User.id == 1).values(display_name="Half"))
            await session.execute(insert(User).values(**_user(1, "Twee")))
    async with db.read() as session:
        assert await session.scalar(select(User.display_name).where(User.id == 1)) == "Anna"
