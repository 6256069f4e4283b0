"""The overview service on a real database: which pairs are a coordinator's, their flags, the
detail of one pair, and a number of queries that does not grow with the number of pairs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bot.domain import risks
from bot.services import auth, overview
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    STATUS_ARCHIVED,
    Absence,
    CheckIn,
    ChecklistTick,
    Exchange,
    ExchangePhase,
    GroupLink,
    Headcount,
    Incident,
    Membership,
    User,
)
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    DAY_1,
    NOW,
    PROGRAMMES,
    TEACHER_A,
    TEACHER_B,
    add_exchange,
    add_user,
    at,
    join,
    user,
    world,
)

OTHER_COORDINATOR = 1001


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """Every SQL statement sent through the database while the block runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def many_pairs(database: Database, number: int) -> None:
    """`number` pairs of the coordinator, each with teachers, a begeleider, ticks, an open
    incident, a check-out with tension and an absence: every kind of row the overview reads."""
    async with database.write() as session:
        add_user(session, COORDINATOR, "Carla", coordinator=True)
        await session.flush()
        for n in range(number):
            base = 10_000 + n * 10
            add_user(session, base + 1, f"Anouk {n}")
            add_user(session, base + 2, f"Bas {n}")
            add_user(session, base + 3, f"Ghislaine {n}")
            await session.flush()
            exchange = await add_exchange(session, school_a=f"School A{n}", school_b=f"School B{n}")
            join(session, base + 1, exchange.id, ROLE_TEACHER, "A")
            join(session, base + 2, exchange.id, ROLE_TEACHER, "B")
            join(session, base + 3, exchange.id, ROLE_BEGELEIDER, None)
            session.add(
                ChecklistTick(
                    exchange_id=exchange.id,
                    holder="A",
                    item_key="booklet_planned",
                    done_by=base + 1,
                    done_at=NOW,
                )
            )
            session.add(
                Incident(
                    exchange_id=exchange.id,
                    reported_by=base + 3,
                    category="conflict",
                    severity="medium",
                    status="open",
                    created_at=NOW,
                )
            )
            session.add(
                CheckIn(
                    exchange_id=exchange.id,
                    phase_key="exchange_day_1",
                    day=NOW.date(),
                    user_id=base + 3,
                    checked_in_at=NOW,
                    checked_out_at=NOW,
                    rating=4,
                    tension=True,
                )
            )
            session.add(
                Absence(
                    exchange_id=exchange.id,
                    phase_key="exchange_day_1",
                    day=DAY_1,
                    user_id=base + 3,
                    created_at=NOW,
                )
            )


async def count_for(database: Database, number: int) -> int:
    await many_pairs(database, number)
    async with database.read() as session:
        coordinator = await user(session, COORDINATOR)
        with statements(database) as seen:
            found = await overview.pairs(session, coordinator, now=NOW, programmes=PROGRAMMES)
    assert len(found) == number
    assert all(s.incidents == 1 and s.begeleiders == 1 for s in found)
    return len(seen)


async def test_the_number_of_queries_does_not_grow_with_the_pairs(database: Database) -> None:
    few = await count_for(database, 3)
    async with database.write() as session:
        await session.execute(update(Exchange).values(status=STATUS_ARCHIVED))
    # The archived ones are not shown; 30 new ones are.
    many = await count_for_more(database, 30)
    assert few == many
    assert few <= 20, few


async def count_for_more(database: Database, number: int) -> int:
    """As count_for, on a database that already has (archived) pairs and the coordinator."""
    async with database.write() as session:
        for n in range(number):
            base = 50_000 + n * 10
            add_user(session, base + 1, f"Anouk {n}")
            add_user(session, base + 3, f"Ghislaine {n}")
            await session.flush()
            exchange = await add_exchange(session, school_a=f"Nieuw A{n}", school_b=f"Nieuw B{n}")
            join(session, base + 1, exchange.id, ROLE_TEACHER, "A")
            join(session, base + 3, exchange.id, ROLE_BEGELEIDER, None)
            session.add(
                Incident(
                    exchange_id=exchange.id,
                    reported_by=base + 3,
                    category="conflict",
                    severity="medium",
                    status="open",
                    created_at=NOW,
                )
            )
    async with database.read() as session:
        coordinator = await user(session, COORDINATOR)
        with statements(database) as seen:
            found = await overview.pairs(session, coordinator, now=NOW, programmes=PROGRAMMES)
    assert len(found) == number
    return len(seen)


async def test_mine_are_the_pairs_the_coordinator_runs(database: Database) -> None:
    async with database.write() as session:
        add_user(session, COORDINATOR, "Carla", coordinator=True)
        add_user(session, OTHER_COORDINATOR, "Otto", coordinator=True)
        add_user(session, 4000, "Former coordinator")
        await session.flush()
        mine = await add_exchange(session, school_a="Mijn A", school_b="Mijn B")
        theirs = await add_exchange(
            session, school_a="Hun A", school_b="Hun B", created_by=OTHER_COORDINATOR
        )
        orphan = await add_exchange(session, school_a="Wees A", school_b="Wees B", created_by=4000)
        nobody = await add_exchange(session, school_a="Geen A", school_b="Geen B", created_by=None)
        ids = {mine.id, theirs.id, orphan.id, nobody.id}
    async with database.read() as session:
        carla = await user(session, COORDINATOR)
        otto = await user(session, OTHER_COORDINATOR)
        found = await overview.pairs(session, carla, now=NOW, programmes=PROGRAMMES)
        assert {s.exchange.id for s in found} == {mine.id, orphan.id, nobody.id}
        found = await overview.pairs(session, otto, now=NOW, programmes=PROGRAMMES)
        assert {s.exchange.id for s in found} == {theirs.id, orphan.id, nobody.id}
        found = await overview.pairs(session, otto, now=NOW, programmes=PROGRAMMES, scope="all")
        assert {s.exchange.id for s in found} == ids


async def test_a_teacher_may_not_see_the_overview(database: Database) -> None:
    w = await world(database)
    async with database.read() as session:
        teacher = await user(session, TEACHER_A)
        with pytest.raises(auth.NotAllowed):
            await overview.pairs(session, teacher, now=NOW, programmes=PROGRAMMES)
        with pytest.raises(auth.NotAllowed):
            await overview.detail(session, teacher, w.exchange_id, NOW, PROGRAMMES)


async def test_flags_come_from_the_rows(database: Database) -> None:
    w = await world(database)
    now = at(DAY_1 - timedelta(days=2), 10)  # Monday of week 2: dates should be agreed
    async with database.read() as session:
        [status] = await overview.pairs(
            session, await user(session, COORDINATOR), now=now, programmes=PROGRAMMES
        )
    assert [f.key for f in status.flags] == [risks.DATES_OPEN, risks.OVERDUE]
    assert status.phase == "exchange_day_1"
    assert status.next_day is not None and status.next_day.starts_on == DAY_1
    assert status.progress["A"][0] == 0 and status.progress["A"][1] > 0
    assert status.begeleiders == 1

    # The begeleider cannot come on day 1 and the teacher of B blocked the bot.
    async with database.write() as session:
        session.add(
            Absence(
                exchange_id=w.exchange_id,
                phase_key="exchange_day_1",
                day=DAY_1,
                user_id=BEGELEIDER,
                created_at=now,
            )
        )
        await session.execute(update(User).where(User.id == TEACHER_B).values(blocked_at=now))
        await session.execute(
            update(ExchangePhase)
            .where(ExchangePhase.exchange_id == w.exchange_id)
            .values(agreed=True)
        )
    async with database.read() as session:
        [status] = await overview.pairs(
            session, await user(session, COORDINATOR), now=now, programmes=PROGRAMMES
        )
    flags = {f.key: f for f in status.flags}
    assert set(flags) == {risks.NO_BEGELEIDER, risks.TEACHER_MISSING, risks.OVERDUE}
    assert flags[risks.NO_BEGELEIDER].detail["day"] == DAY_1
    assert flags[risks.TEACHER_MISSING].detail == {"schools": (), "blocked": ("Bas",)}


async def test_pairs_are_sorted_by_risk(database: Database) -> None:
    async with database.write() as session:
        add_user(session, COORDINATOR, "Carla", coordinator=True)
        await session.flush()
        calm = await add_exchange(session, school_a="Rustig A", school_b="Rustig B")
        risky = await add_exchange(session, school_a="Spannend A", school_b="Spannend B")
        session.add(
            Incident(
                exchange_id=risky.id,
                category="injury",
                severity="high",
                status="open",
                created_at=NOW,
            )
        )
    async with database.read() as session:
        found = await overview.pairs(
            session, await user(session, COORDINATOR), now=NOW, programmes=PROGRAMMES
        )
    assert [s.exchange.id for s in found] == [risky.id, calm.id]
    assert found[0].score > found[1].score


async def test_the_detail_of_one_pair(database: Database) -> None:
    w = await world(database)
    day = date(2027, 2, 10)
    async with database.write() as session:
        add_user(session, -100123, "Klas 8 + 7/8").is_group = True
        await session.flush()
        session.add(
            GroupLink(
                chat_id=-100123,
                exchange_id=w.exchange_id,
                title="Klas 8 + 7/8",
                linked_by=COORDINATOR,
                linked_at=NOW,
            )
        )
        for side, count, moment in (("A", 24, "arrival"), ("B", 20, "arrival"), ("B", 21, "end")):
            session.add(
                Headcount(
                    exchange_id=w.exchange_id,
                    day=day,
                    side=side,
                    moment=moment,
                    count=count,
                    recorded_by=BEGELEIDER,
                    recorded_at=at(day, 9 if moment == "arrival" else 15),
                )
            )
        session.add(
            Incident(
                exchange_id=w.exchange_id,
                category="remark",
                severity="medium",
                status="acknowledged",
                created_at=at(day, 11),
            )
        )
        session.add(
            Incident(
                exchange_id=w.exchange_id,
                category="injury",
                severity="low",
                status="resolved",
                created_at=at(day, 10),
            )
        )
    async with database.read() as session:
        found = await overview.detail(
            session, await user(session, COORDINATOR), w.exchange_id, at(day, 16), PROGRAMMES
        )
    assert found.exchange.id == w.exchange_id
    assert found.groups == ("Klas 8 + 7/8",)
    assert [(c.side, c.count, c.moment) for c in found.counts] == [
        ("A", 24, "arrival"),
        ("B", 21, "end"),
    ]
    assert [(i.category, i.status) for i in found.incidents] == [("remark", "acknowledged")]
    assert [name for name, _, _ in found.begeleider_progress] == ["Ghislaine"]
    # An archived pair can still be looked at; one that does not exist cannot.
    async with database.write() as session:
        await session.execute(update(Exchange).values(status=STATUS_ARCHIVED))
    async with database.read() as session:
        coordinator = await user(session, COORDINATOR)
        archived = await overview.detail(session, coordinator, w.exchange_id, NOW, PROGRAMMES)
        assert archived.exchange.id == w.exchange_id
        with pytest.raises(auth.NotAllowed):
            await overview.detail(session, coordinator, 999_999, NOW, PROGRAMMES)


async def test_a_begeleider_planned_for_other_days_leaves_day_1_bare(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        await session.execute(
            update(Membership)
            .where(Membership.user_id == BEGELEIDER, Membership.exchange_id == w.exchange_id)
            .values(days=["exchange_day_2", "closing"])
        )
    now = at(DAY_1 - timedelta(days=3), 10)
    async with database.read() as session:
        [status] = await overview.pairs(
            session, await user(session, COORDINATOR), now=now, programmes=PROGRAMMES
        )
    flag = next(f for f in status.flags if f.key == risks.NO_BEGELEIDER)
    assert flag.detail["day"] == DAY_1 and flag.detail["count"] == 1


async def test_the_list_ranks_every_pair_and_writes_out_only_those_asked_for(
    database: Database,
) -> None:
    """/overzicht ranks every pair from what orders the list and writes out the lines of the
    page only: in the same order, and the same lines, as every pair's line worked out."""
    await many_pairs(database, 6)
    async with database.write() as session:
        # Pairs that differ: one with a blocked teacher, one whose begeleider comes only to
        # the closing, one whose incident was seen, one with its dates agreed.
        ids = list(await session.scalars(select(Exchange.id).order_by(Exchange.id)))
        await session.execute(update(User).where(User.id == 10_012).values(blocked_at=NOW))
        await session.execute(
            update(Membership).where(Membership.user_id == 10_023).values(days=["closing"])
        )
        await session.execute(
            update(Incident).where(Incident.exchange_id == ids[3]).values(status="acknowledged")
        )
        await session.execute(
            update(ExchangePhase).where(ExchangePhase.exchange_id == ids[4]).values(agreed=True)
        )
    now = at(DAY_1 - timedelta(days=2), 10)
    async with database.read() as session:
        coordinator = await user(session, COORDINATOR)
        lines = await overview.lines(session, coordinator, now=now, programmes=PROGRAMMES)
        listing = await overview.listing(session, coordinator, now=now, programmes=PROGRAMMES)
    assert [r.id for r in listing.ranks] == [line.id for line in lines]
    assert len({line.score for line in lines}) > 1
    for rank, line in zip(listing.ranks, lines, strict=True):
        assert (rank.city, rank.phase, rank.phase_name) == (line.city, line.phase, line.phase_name)
        assert rank.flagged == bool(line.flags)
        assert listing.line(rank.id) == line
