"""Many rows written at once (`db.bulk.insert_rows`) read back exactly as the ORM writes them,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, func, select

from db.bulk import insert_rows
from db.models import OUTBOX_PENDING, OutboxMessage, User
from db.session import Database

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=AMS)
OUTBOX = cast(Table, OutboxMessage.__table__)


def _row(user_id: int, index: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "user_id": user_id,
        "exchange_id": None,
        "kind": "digest",
        "dedupe_key": f"bulk:{index}",
        "payload": {"week": index, "naam": "Zoë 's-Hertogenbosch", "dagen": ["ma", "di"]},
        "urgent": False,
        "status": OUTBOX_PENDING,
        "due_at": NOW + timedelta(days=index),
        "not_after": NOW + timedelta(days=index, hours=12),
        "next_attempt_at": NOW + timedelta(days=index),
        "attempts": 0,
        "uncertain_sends": 0,
        "sender_id": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    row.update(changes)
    return row


# Telegram's ids go beyond 32 bits.
USER_ID = 7_123_456_789


async def _user(database: Database) -> int:
    async with database.write() as session:
        session.add(
            User(
                id=USER_ID,
                display_name="Juf Ans",
                language="nl",
                created_at=NOW,
                last_seen_at=NOW,
            )
        )
    return USER_ID


async def test_rows_read_back_as_written(database: Database) -> None:
    user_id = await _user(database)
    rows = [
        _row(user_id, 0),
        _row(
            user_id,
            1,
            urgent=True,
            sender_id=user_id,
            payload={},
            # The night the clocks go back: the second 02:30, an hour after the first.
            due_at=datetime(2027, 10, 31, 2, 30, tzinfo=AMS, fold=1),
            next_attempt_at=datetime(2027, 10, 31, 1, 30, tzinfo=timezone(timedelta(hours=1))),
        ),
        _row(user_id, 2, attempts=3, payload={"tekst": 'aanhalingstekens " en \\ en \n'}),
    ]
    async with database.write() as session:
        await insert_rows(session, OUTBOX, rows)
    async with database.read() as session:
        stored = list(
            await session.scalars(select(OutboxMessage).order_by(OutboxMessage.dedupe_key))
        )
    assert [r.dedupe_key for r in stored] == ["bulk:0", "bulk:1", "bulk:2"]
    for row, found in zip(rows, stored, strict=True):
        for name, value in row.items():
            if isinstance(value, datetime):
                # Compared as UTC: Python never finds an ambiguous local time (the second
                # 02:30) equal to a moment in another zone.
                value = value.astimezone(UTC)
            assert getattr(found, name) == value, name
        assert found.due_at.tzinfo is not None
        assert found.last_error is None and found.telegram_message_id is None
    assert stored[1].due_at == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    assert stored[1].next_attempt_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # Ids are given by the database, as for any insert.
    assert len({r.id for r in stored}) == 3


async def test_a_thousand_rows_in_one_call(database: Database) -> None:
    user_id = await _user(database)
    async with database.write() as session:
        await insert_rows(session, OUTBOX, [_row(user_id, i) for i in range(1000)])
    async with database.read() as session:
        count = await session.scalar(select(func.count()).select_from(OutboxMessage))
        last = await session.scalar(
            select(OutboxMessage.payload).where(OutboxMessage.dedupe_key == "bulk:999")
        )
    assert count == 1000
    assert last == {"week": 999, "naam": "Zoë 's-Hertogenbosch", "dagen": ["ma", "di"]}


async def test_nothing_to_write_writes_nothing(database: Database) -> None:
    async with database.write() as session:
        await insert_rows(session, OUTBOX, [])
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize("change", ["one more column", "one column fewer"])
async def test_rows_that_differ_in_their_columns_are_refused(
    database: Database, change: str
) -> None:
    user_id = await _user(database)
    other = _row(user_id, 1)
    if change == "one more column":
        other["last_error"] = "timeout"
    else:
        del other["sender_id"]
    with pytest.raises(ValueError, match="differ in their columns"):
        async with database.write() as session:
            await insert_rows(session, OUTBOX, [_row(user_id, 0), other])
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_a_column_with_a_default_must_be_given(database: Database) -> None:
    user_id = await _user(database)
    row = _row(user_id, 0)
    del row["urgent"], row["payload"]
    with pytest.raises(ValueError, match="without payload, urgent"):
        async with database.write() as session:
            await insert_rows(session, OUTBOX, [row])
