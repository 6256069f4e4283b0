"""The headcount service on a real database: counts, drops, and the one answer to a drop."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.services import exchanges, headcounts
from db.models import STATUS_ARCHIVED, Exchange, Headcount, Incident, OutboxMessage
from db.session import Database
from tests.services.world import (
    ACK_WINDOW,
    BEGELEIDER,
    DAY_1,
    STRANGER,
    TEACHER_A,
    TEACHER_B,
    at,
    count,
    user,
    world,
)


async def record(
    database: Database, exchange_id: int, side: str, moment: str, n: int, minute: int
) -> headcounts.Drop | None:
    async with database.write() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        return await headcounts.record_count(
            session,
            exchange,
            DAY_1,
            side,
            moment,
            n,
            user_id=BEGELEIDER,
            now=at(DAY_1, 9, minute),
        )


async def test_a_lower_count_than_the_previous_one_is_a_drop(database: Database) -> None:
    w = await world(database)
    assert await record(database, w.exchange_id, "A", "arrival", 24, 0) is None
    assert await record(database, w.exchange_id, "B", "arrival", 22, 1) is None
    assert await record(database, w.exchange_id, "B", "departure", 22, 2) is None
    drop = await record(database, w.exchange_id, "A", "departure", 21, 3)
    assert drop is not None
    assert (drop.side, drop.before, drop.after, drop.fewer, drop.previous_moment) == (
        "A",
        24,
        21,
        3,
        "arrival",
    )
    async with database.read() as session:
        rows = await headcounts.counts_today(session, w.exchange_id, DAY_1)
        assert [(r.side, r.moment, r.count, r.previous_count) for r in rows] == [
            ("A", "arrival", 24, None),
            ("B", "arrival", 22, None),
            ("B", "departure", 22, 22),
            ("A", "departure", 21, 24),
        ]
        waiting = await headcounts.drops(session, [r.id for r in rows])
        assert [d.headcount_id for d in waiting] == [drop.headcount_id]


async def test_missing_raises_one_urgent_incident_and_a_second_answer_changes_nothing(
    database: Database,
) -> None:
    w = await world(database)
    await record(database, w.exchange_id, "A", "arrival", 24, 0)
    drop = await record(database, w.exchange_id, "A", "back", 21, 30)
    assert drop is not None
    async with database.write() as session:
        answer = await headcounts.answer_drop(
            session,
            await user(session, BEGELEIDER),
            drop.headcount_id,
            "missing",
            today=DAY_1,
            now=at(DAY_1, 11, 31),
            ack_window=ACK_WINDOW,
        )
        assert answer.outcome == "recorded" and answer.incident is not None
        incident_id = answer.incident.id
    async with database.write() as session:
        again = await headcounts.answer_drop(
            session,
            await user(session, TEACHER_A),
            drop.headcount_id,
            "home",
            today=DAY_1,
            now=at(DAY_1, 11, 32),
            ack_window=ACK_WINDOW,
        )
        assert again.outcome == "answered" and again.previous == "missing"
        assert again.incident is not None and again.incident.id == incident_id
    async with database.read() as session:
        row = await session.get(Headcount, drop.headcount_id)
        assert row is not None
        assert (row.drop_answer, row.drop_answered_by, row.incident_id) == (
            "missing",
            BEGELEIDER,
            incident_id,
        )
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.category, incident.severity, incident.reported_by) == (
            "missing",
            "urgent",
            BEGELEIDER,
        )
        alerted = await session.scalars(
            select(OutboxMessage.user_id).where(OutboxMessage.kind == "incident_alert")
        )
        assert sorted(alerted) == [1000, TEACHER_A, TEACHER_B]
        assert await headcounts.drops(session, [drop.headcount_id]) == []
    assert await count(database, Incident) == 1


async def test_an_answer_that_is_not_missing_raises_no_alarm(database: Database) -> None:
    w = await world(database)
    await record(database, w.exchange_id, "B", "arrival", 22, 0)
    drop = await record(database, w.exchange_id, "B", "end", 20, 30)
    assert drop is not None
    async with database.write() as session:
        answer = await headcounts.answer_drop(
            session,
            await user(session, BEGELEIDER),
            drop.headcount_id,
            "home",
            today=DAY_1,
            now=at(DAY_1, 14, 0),
            ack_window=ACK_WINDOW,
        )
    assert answer.outcome == "recorded" and answer.incident is None
    assert await count(database, Incident) == 0
    assert await count(database, Headcount, Headcount.drop_answer == "home") == 1


async def test_who_may_answer_and_when(database: Database) -> None:
    w = await world(database)
    await record(database, w.exchange_id, "A", "arrival", 24, 0)
    drop = await record(database, w.exchange_id, "A", "back", 20, 30)
    assert drop is not None

    async def answer(
        user_id: int, *, today: date = DAY_1, headcount_id: int = drop.headcount_id
    ) -> str:
        async with database.write() as session:
            result = await headcounts.answer_drop(
                session,
                await user(session, user_id),
                headcount_id,
                "elsewhere",
                today=today,
                now=at(DAY_1, 12, 0),
                ack_window=ACK_WINDOW,
            )
            return result.outcome

    assert await answer(STRANGER) == "not_allowed"
    assert await answer(BEGELEIDER, headcount_id=drop.headcount_id + 100) == "not_allowed"
    assert await answer(BEGELEIDER, today=DAY_1.replace(day=11)) == "expired"  # not today's
    async with database.write() as session:
        exchange = await session.get(Exchange, w.exchange_id)
        assert exchange is not None
        exchange.status = STATUS_ARCHIVED
    assert await answer(BEGELEIDER) == "expired"
    assert await count(database, Headcount, Headcount.drop_answer.is_not(None)) == 0
