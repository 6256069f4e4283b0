"""The exchange service on a real database: creating, who sees what, archiving, whom to call."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import auth, exchanges, outbox
from db.models import (
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    STATUS_ARCHIVED,
    Exchange,
    ExchangePhase,
    OutboxMessage,
    School,
    User,
)
from db.session import Database
from tests.services.world import (
    COORDINATOR,
    NOW,
    PROGRAMMES,
    RULES,
    STRANGER,
    TEACHER_A,
    add_exchange,
    add_user,
    count,
    user,
    world,
)


async def test_creating_stores_sides_phases_and_reuses_known_schools(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        second = await add_exchange(session, school_a="DE AVONTURIJN", school_b="Het Anker")
    async with database.read() as session:
        first = await exchanges.load_exchange(session, w.exchange_id)
        again = await exchanges.load_exchange(session, second.id)
        assert first is not None and again is not None
        assert exchanges.label(first) == f"#{w.exchange_id} De Avonturijn – De Odyssee"
        assert exchanges.title(again) == "De Avonturijn – Het Anker"  # the stored spelling
        assert [(s.side, s.class_name, s.class_size) for s in first.sides] == [
            ("A", "groep 8", 24),
            ("B", "groep 7/8", 22),
        ]
        assert sorted(p.phase_key for p in first.phases) == sorted(
            ["orientation", "exchange_day_1", "exchange_day_2", "closing"]
        )
        assert all(not p.agreed for p in first.phases)
        assert await exchanges.known_cities(session) == ["Amsterdam"]
    assert await count(database, School) == 3
    assert await count(database, ExchangePhase) == 8


async def test_members_see_their_own_and_coordinators_all(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        other = await add_exchange(session, school_a="De Klimop", school_b="Het Anker")
    async with database.read() as session:
        seen = {}
        for person in (COORDINATOR, TEACHER_A, STRANGER):
            visible = await exchanges.visible_exchanges(session, await user(session, person))
            seen[person] = [e.id for e in visible]
    assert seen == {
        COORDINATOR: [other.id, w.exchange_id],
        TEACHER_A: [w.exchange_id],
        STRANGER: [],
    }


async def test_archiving_cancels_what_was_planned_once(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        planned = await outbox.replan_exchange(session, w.exchange_id, PROGRAMMES, RULES, now=NOW)
    assert planned.created > 20
    with pytest.raises(auth.NotAllowed):
        async with database.write() as session:
            await exchanges.archive(
                session,
                await user(session, TEACHER_A),
                w.exchange_id,
                programmes=PROGRAMMES,
                rules=RULES,
                now=NOW,
            )
    async with database.write() as session:
        cancelled = await exchanges.archive(
            session,
            await user(session, COORDINATOR),
            w.exchange_id,
            programmes=PROGRAMMES,
            rules=RULES,
            now=NOW,
        )
    assert cancelled == planned.created
    with pytest.raises(auth.Archived):
        async with database.write() as session:
            await exchanges.archive(
                session,
                await user(session, COORDINATOR),
                w.exchange_id,
                programmes=PROGRAMMES,
                rules=RULES,
                now=NOW,
            )
    async with database.read() as session:
        exchange = await session.get(Exchange, w.exchange_id)
        assert exchange is not None and exchange.status == STATUS_ARCHIVED
        assert await exchanges.visible_exchanges(session, await user(session, COORDINATOR)) == []
        statuses = set(await session.scalars(select(OutboxMessage.status)))
    assert statuses == {OUTBOX_CANCELLED}
    assert await count(database, OutboxMessage, OutboxMessage.status == OUTBOX_PENDING) == 0


async def test_coordinators_of_is_the_creator_else_every_coordinator(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        add_user(session, 1001, "Dirk", coordinator=True)
        orphan = await add_exchange(session, school_a="De Klimop", created_by=None)
    async with database.read() as session:
        made = await exchanges.load_exchange(session, w.exchange_id)
        nobodys = await exchanges.load_exchange(session, orphan.id)
        assert made is not None and nobodys is not None
        assert [u.id for u in await exchanges.coordinators_of(session, made)] == [COORDINATOR]
        assert [u.id for u in await exchanges.coordinators_of(session, nobodys)] == [
            COORDINATOR,
            1001,
        ]
    async with database.write() as session:
        creator = await session.get(User, COORDINATOR)
        assert creator is not None
        creator.is_coordinator = False  # no longer a coordinator: everyone else is called
    async with database.read() as session:
        made = await exchanges.load_exchange(session, w.exchange_id)
        assert made is not None
        assert [u.id for u in await exchanges.coordinators_of(session, made)] == [1001]
