"""The date-agreement service on a real database: proposals, answers, and who may set a date."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from bot.domain.exchange_input import InputError
from bot.services import auth, date_agreement
from db.models import (
    PROPOSAL_ACCEPTED,
    PROPOSAL_DECLINED,
    PROPOSAL_PENDING,
    PROPOSAL_SUPERSEDED,
    STATUS_ARCHIVED,
    DateProposal,
    Exchange,
    ExchangePhase,
    OutboxMessage,
)
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    NOW,
    PROGRAMMES,
    RULES,
    STRANGER,
    TEACHER_A,
    TEACHER_B,
    count,
    user,
    world,
)

THURSDAY = date(2027, 2, 11)  # in exchange day 1's week; the default is Wednesday 10 February
NINE = time(9, 0)


async def set_date(
    database: Database, user_id: int, exchange_id: int, day: date = THURSDAY
) -> date_agreement.SetResult:
    async with database.write() as session:
        return await date_agreement.set_date(
            session,
            await user(session, user_id),
            exchange_id,
            "exchange_day_1",
            day,
            NINE,
            programmes=PROGRAMMES,
            rules=RULES,
            today=NOW.date(),
            now=NOW,
        )


async def answer(
    database: Database, user_id: int, proposal_id: int, *, accept: bool
) -> date_agreement.Answer:
    async with database.write() as session:
        return await date_agreement.answer_proposal(
            session,
            await user(session, user_id),
            proposal_id,
            accept=accept,
            programmes=PROGRAMMES,
            rules=RULES,
            today=NOW.date(),
            now=NOW,
        )


async def day_1(database: Database) -> tuple[date, time | None, bool]:
    async with database.read() as session:
        row = await session.scalar(
            select(ExchangePhase).where(ExchangePhase.phase_key == "exchange_day_1")
        )
        assert row is not None
        return row.starts_on, row.start_time, row.agreed


async def sent(database: Database, kind: str) -> list[int]:
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxMessage.user_id).where(OutboxMessage.kind == kind)
        )
        return sorted(rows)


async def proposals(database: Database) -> list[tuple[str, str | None, int | None]]:
    async with database.read() as session:
        rows = await session.scalars(select(DateProposal).order_by(DateProposal.id))
        return [(p.status, p.side, p.decided_by) for p in rows]


async def test_a_teachers_date_is_a_proposal_to_the_other_school(database: Database) -> None:
    w = await world(database)
    default = await day_1(database)
    result = await set_date(database, TEACHER_A, w.exchange_id)
    assert (result.decided, result.day, result.start, result.names) == (
        False,
        THURSDAY,
        NINE,
        ["Bas"],
    )
    assert await proposals(database) == [(PROPOSAL_PENDING, "A", None)]
    assert await sent(database, "date_proposal") == [TEACHER_B]
    assert await day_1(database) == default  # nothing fixed yet


async def test_the_other_school_accepts_and_the_date_is_fixed(database: Database) -> None:
    w = await world(database)
    await set_date(database, TEACHER_A, w.exchange_id)
    async with database.read() as session:
        proposal_id = await session.scalar(select(DateProposal.id))
    assert proposal_id is not None
    accepted = await answer(database, TEACHER_B, proposal_id, accept=True)
    assert accepted.outcome == date_agreement.Outcome.ACCEPTED and accepted.day == THURSDAY
    assert await day_1(database) == (THURSDAY, NINE, True)
    assert await proposals(database) == [(PROPOSAL_ACCEPTED, "A", TEACHER_B)]
    assert await sent(database, "date_agreed") == [COORDINATOR, TEACHER_A, BEGELEIDER]
    again = await answer(database, TEACHER_B, proposal_id, accept=True)
    assert again.outcome == date_agreement.Outcome.ALREADY_ACCEPTED


async def test_the_proposers_own_school_cannot_answer_it(database: Database) -> None:
    w = await world(database)
    await set_date(database, TEACHER_A, w.exchange_id)
    async with database.read() as session:
        proposal_id = await session.scalar(select(DateProposal.id))
    assert proposal_id is not None
    with pytest.raises(auth.NotAllowed):
        await answer(database, TEACHER_A, proposal_id, accept=True)
    assert await proposals(database) == [(PROPOSAL_PENDING, "A", None)]


async def test_declining_tells_the_proposer_and_a_new_proposal_supersedes(
    database: Database,
) -> None:
    w = await world(database)
    await set_date(database, TEACHER_A, w.exchange_id)
    async with database.read() as session:
        first = await session.scalar(select(DateProposal.id))
    assert first is not None
    declined = await answer(database, TEACHER_B, first, accept=False)
    assert declined.outcome == date_agreement.Outcome.DECLINED and declined.proposer == "Anouk"
    assert await sent(database, "date_declined") == [TEACHER_A]
    await set_date(database, TEACHER_B, w.exchange_id, date(2027, 2, 9))
    await set_date(database, TEACHER_B, w.exchange_id, date(2027, 2, 12))
    assert await proposals(database) == [
        (PROPOSAL_DECLINED, "A", TEACHER_B),
        (PROPOSAL_SUPERSEDED, "B", None),
        (PROPOSAL_PENDING, "B", None),
    ]
    assert (await answer(database, COORDINATOR, first, accept=True)).outcome == (
        date_agreement.Outcome.GONE
    )


async def test_a_coordinator_decides_at_once(database: Database) -> None:
    w = await world(database)
    result = await set_date(database, COORDINATOR, w.exchange_id)
    assert result.decided and result.names == []
    assert await day_1(database) == (THURSDAY, NINE, True)
    assert await proposals(database) == []
    assert await sent(database, "date_agreed") == [TEACHER_A, TEACHER_B, BEGELEIDER]


async def test_who_may_not_set_a_date(database: Database) -> None:
    w = await world(database)
    default = await day_1(database)
    for person in (BEGELEIDER, STRANGER):
        with pytest.raises(auth.NotAllowed):
            await set_date(database, person, w.exchange_id)
    with pytest.raises(auth.NotAllowed):
        await set_date(database, COORDINATOR, w.exchange_id + 1)  # no such exchange
    async with database.write() as session:
        exchange = await session.get(Exchange, w.exchange_id)
        assert exchange is not None
        exchange.status = STATUS_ARCHIVED
    for person in (COORDINATOR, TEACHER_A):
        with pytest.raises(auth.Archived):
            await set_date(database, person, w.exchange_id)
    assert await day_1(database) == default
    assert await count(database, DateProposal) == 0


async def test_a_day_that_cannot_be_agreed_changes_nothing(database: Database) -> None:
    w = await world(database)
    default = await day_1(database)
    with pytest.raises(InputError) as saturday:
        await set_date(database, COORDINATOR, w.exchange_id, date(2027, 2, 13))
    assert saturday.value.key == "date_agreement.weekend"
    with pytest.raises(InputError) as outside:
        await set_date(database, TEACHER_A, w.exchange_id, date(2027, 2, 17))
    assert outside.value.key == "date_agreement.outside_window"
    assert await day_1(database) == default
    assert await count(database, DateProposal) == 0
    assert await count(database, OutboxMessage, OutboxMessage.kind.like("date_%")) == 0
