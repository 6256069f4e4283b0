"""The outbox service on a real database: enqueue once per key, claim, lease, quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.services import outbox
from db.models import OUTBOX_PENDING, OUTBOX_SENDING, OUTBOX_SENT, OutboxMessage
from db.session import Database
from tests.services.world import (
    NOW,
    PROGRAMMES,
    RULES,
    TEACHER_A,
    TEACHER_B,
    at,
    count,
    world,
)

EVENING = at(NOW.date(), 22, 0)  # quiet hours
NEXT_MORNING = at(NOW.date() + timedelta(days=1), 7, 0)


async def enqueue(
    database: Database, key: str, *, now: datetime = NOW, **kwargs: Any
) -> int | None:
    values: dict[str, Any] = {
        "user_id": TEACHER_A,
        "exchange_id": None,
        "kind": "follow_up",
        "payload": {},
    }
    async with database.write() as session:
        row = await outbox.enqueue(session, dedupe_key=key, now=now, **(values | kwargs))
        return None if row is None else row.id


async def claim(database: Database, now: datetime) -> list[int]:
    async with database.write() as session:
        claims = await outbox.claim_due(session, now=now, limit=50, rules=RULES)
        return [c.id for c in claims.to_send]


async def row(database: Database, row_id: int) -> OutboxMessage:
    async with database.read() as session:
        found = await session.get(OutboxMessage, row_id)
        assert found is not None
        return found


async def test_a_key_is_queued_once(database: Database) -> None:
    await world(database)
    first = await enqueue(database, "test:1")
    assert first is not None
    assert await enqueue(database, "test:1", user_id=TEACHER_B) is None
    assert await count(database, OutboxMessage) == 1
    queued = await row(database, first)
    assert (queued.user_id, queued.status, queued.due_at, queued.next_attempt_at) == (
        TEACHER_A,
        OUTBOX_PENDING,
        NOW,
        NOW,
    )
    assert queued.not_after == NOW + outbox.DEFAULT_VALIDITY


async def test_a_claimed_row_is_not_claimed_again_until_its_lease_is_over(
    database: Database,
) -> None:
    await world(database)
    row_id = await enqueue(database, "test:lease")
    assert row_id is not None
    assert await claim(database, NOW - timedelta(minutes=1)) == []  # not due yet
    assert await claim(database, NOW) == [row_id]
    claimed = await row(database, row_id)
    assert (claimed.status, claimed.attempts, claimed.claimed_at) == (OUTBOX_SENDING, 1, NOW)
    assert await claim(database, NOW + timedelta(minutes=1)) == []
    # Its process died: after the lease the row is claimed again, as an uncertain send.
    later = NOW + outbox.CLAIM_LEASE + timedelta(seconds=1)
    assert await claim(database, later) == [row_id]
    again = await row(database, row_id)
    assert (again.attempts, again.uncertain_sends) == (2, 1)
    async with database.write() as session:
        await outbox.mark_sent(session, row_id, now=later, message_id=77)
    sent = await row(database, row_id)
    assert (sent.status, sent.sent_at, sent.telegram_message_id) == (OUTBOX_SENT, later, 77)
    assert await claim(database, later + timedelta(hours=1)) == []


async def test_quiet_hours_move_a_row_to_the_morning_but_not_an_urgent_one(
    database: Database,
) -> None:
    await world(database)
    normal = await enqueue(database, "test:quiet", now=EVENING)
    urgent = await enqueue(database, "test:urgent", now=EVENING, urgent=True)
    assert normal is not None and urgent is not None
    assert await claim(database, EVENING) == [urgent]
    async with database.write() as session:
        await outbox.mark_sent(session, urgent, now=EVENING, message_id=1)
    waiting = await row(database, normal)
    assert (waiting.status, waiting.next_attempt_at) == (OUTBOX_PENDING, NEXT_MORNING)
    assert await claim(database, NEXT_MORNING) == [normal]


async def test_a_row_past_its_time_is_skipped_with_the_reason(database: Database) -> None:
    await world(database)
    row_id = await enqueue(database, "test:late", not_after=NOW + timedelta(hours=1))
    assert row_id is not None
    assert await claim(database, NOW + timedelta(hours=2)) == []
    skipped = await row(database, row_id)
    assert skipped.status == "skipped" and skipped.last_error


async def test_replanning_is_idempotent(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        first = await outbox.replan_exchange(session, w.exchange_id, PROGRAMMES, RULES, now=NOW)
    async with database.write() as session:
        second = await outbox.replan_exchange(session, w.exchange_id, PROGRAMMES, RULES, now=NOW)
    assert first.created > 20 and (first.updated, first.cancelled) == (0, 0)
    assert second == outbox.ReplanResult(0, 0, 0)
    async with database.read() as session:
        keys = list(await session.scalars(select(OutboxMessage.dedupe_key)))
    assert len(keys) == len(set(keys)) == first.created


async def test_rows_sent_together_are_each_marked_with_their_own_message(
    database: Database,
) -> None:
    await world(database)
    ids = [await enqueue(database, f"test:batch:{n}") for n in range(3)]
    assert None not in ids
    first, second, third = (i for i in ids if i is not None)
    assert sorted(await claim(database, NOW)) == sorted([first, second, third])
    later = NOW + timedelta(seconds=2)
    async with database.write() as session:
        await outbox.mark_all_sent(
            session,
            [
                outbox.SentMark(first, NOW, 11),
                outbox.SentMark(second, later, 12, as_caption=True),
            ],
        )
    one, two, waiting = [await row(database, i) for i in (first, second, third)]
    assert (one.status, one.sent_at, one.telegram_message_id, one.sent_as_caption) == (
        OUTBOX_SENT,
        NOW,
        11,
        None,
    )
    assert (two.status, two.sent_at, two.telegram_message_id, two.sent_as_caption) == (
        OUTBOX_SENT,
        later,
        12,
        True,
    )
    assert (waiting.status, waiting.telegram_message_id) == (OUTBOX_SENDING, None)
