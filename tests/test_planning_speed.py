"""Planning many exchanges: in the background at start-up, in short transactions after a
holiday import, and always to the same rows as planning them one by one."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import FakeClock
from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.holidays import HolidayPeriod
from bot.domain.outbox import DIGEST, Rules
from bot.domain.programme import Programme, load_programmes
from bot.jobs import startup
from bot.services import outbox, school_holidays, summary
from bot.services.exchanges import active_exchange_ids
from bot.services.importer import import_rows
from db.models import (
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    Membership,
    OutboxMessage,
    User,
)
from db.session import Database
from tests.fixtures import COORDINATOR_ID, START, make_settings
from tests.harness import Harness

PROGRAMMES: dict[str, Programme] = load_programmes()
RULES = Rules()
# More pairs than one chunk holds, so a re-plan of them all takes several transactions.
PAIRS = 2 * outbox.REPLAN_CHUNK + 5
# Monday of the programme's first week; week 3 is a holiday in the holiday test.
FIRST_MONDAY = date(2027, 2, 1)
HOLIDAY = (date(2027, 2, 15), date(2027, 2, 19))
# The digests of that week, still to go out.
HOLIDAY_WEEK = (
    OutboxMessage.kind == DIGEST,
    OutboxMessage.dedupe_key.like(f"digest:%:{HOLIDAY[0].isoformat()}"),
)


def _user(user_id: int, now: datetime, *, coordinator: bool = False) -> User:
    return User(
        id=user_id,
        display_name=f"Lid {user_id}",
        language="nl",
        is_coordinator=coordinator,
        coordinator_source="setting" if coordinator else None,
        active=True,
        created_at=now,
        last_seen_at=now,
    )


async def seed_pairs(database: Database, pairs: int, *, now: datetime) -> list[int]:
    """`pairs` exchanges in region noord, each with two teachers and a begeleider, and no row
    planned yet (as after an import by an older version of the bot)."""
    rows = [
        (
            n + 2,
            ExchangeInput(
                programme_key="standaard",
                city="Amsterdam",
                start_date=FIRST_MONDAY,
                sides=[
                    SideInput(f"School {n} Noord", None, "groep 8", 24),
                    SideInput(f"School {n} Zuid", None, "groep 7/8", 22),
                ],
                region="noord",
            ),
        )
        for n in range(pairs)
    ]
    async with database.write() as session:
        session.add(_user(COORDINATOR_ID, now, coordinator=True))
        await session.flush()
        ids = await import_rows(session, rows, PROGRAMMES, now=now)
        for pair, exchange_id in enumerate(ids):
            roles = [(ROLE_TEACHER, "A"), (ROLE_TEACHER, "B"), (ROLE_BEGELEIDER, None)]
            for k, (role, side) in enumerate(roles):
                user_id = 100_000 + 10 * pair + k
                session.add(_user(user_id, now))
                session.add(
                    Membership(
                        user_id=user_id,
                        exchange_id=exchange_id,
                        role=role,
                        side=side,
                        joined_at=now,
                    )
                )
    async with database.write() as session:
        await session.execute(delete(OutboxMessage))
    return ids


async def planned_rows(database: Database, *where: Any) -> int:
    async with database.read() as session:
        query = select(func.count()).select_from(OutboxMessage).where(*where)
        return int(await session.scalar(query) or 0)


async def replanning_changes_nothing(database: Database, ids: Sequence[int], now: datetime) -> None:
    """Every row is as planning each exchange on its own would have it."""
    async with database.write() as session:
        for exchange_id in ids:
            result = await outbox.replan_exchange(
                session, exchange_id, PROGRAMMES, RULES, now=now, weeks=False
            )
            assert result == outbox.ReplanResult(0, 0, 0), exchange_id
        assert await summary.plan_weeks(session, now=now) == outbox.ReplanResult(0, 0, 0)


class Gate:
    """Holds the start-up re-plan until the test lets it go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()
        real = startup.replan_many

        async def held(*args: Any, **kwargs: Any) -> outbox.BulkReplan:
            self.reached.set()
            await self.opened.wait()
            return await real(*args, **kwargs)

        monkeypatch.setattr(startup, "replan_many", held)


async def test_the_bot_answers_while_it_replans_at_start_up(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await seed_pairs(database, PAIRS, now=START)
    gate = Gate(monkeypatch)
    h = Harness(database_url, start=START, make_settings=make_settings)
    await h.tg.start()
    # start_bot returns once the start-up re-plan is over; the bot polls long before that.
    starting = asyncio.create_task(h.start_bot())
    try:
        await asyncio.wait_for(gate.reached.wait(), 10)
        user = h.user(4242, "Ilse")
        replies = await h.send(user, "/help")
        assert replies and "/taal" in replies[-1].text
        assert not starting.done()
        assert await planned_rows(database) == 0

        gate.opened.set()
        await asyncio.wait_for(starting, 60)
        assert await planned_rows(database, OutboxMessage.kind == DIGEST) >= PAIRS
        for exchange_id in ids:
            assert await planned_rows(database, OutboxMessage.exchange_id == exchange_id) > 0
        await replanning_changes_nothing(database, ids, START)
    finally:
        gate.opened.set()
        await starting
        await h.stop_bot()
        await h.tg.stop()


async def test_stopping_the_bot_stops_a_start_up_replan(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await seed_pairs(database, PAIRS, now=START)
    gate = Gate(monkeypatch)
    h = Harness(database_url, start=START, make_settings=make_settings)
    await h.tg.start()
    starting = asyncio.create_task(h.start_bot())
    try:
        await asyncio.wait_for(gate.reached.wait(), 10)
        # Polling, so start-up is over but for the re-plan.
        assert "/taal" in (await h.send(h.user(4242, "Ilse"), "/help"))[-1].text
        await h.stop_bot()
        # start_bot's wait ends with the re-plan, cancelled, not with an error.
        await asyncio.wait_for(starting, 10)
        assert await planned_rows(database) == 0

        monkeypatch.undo()
        await h.start_bot()
        await replanning_changes_nothing(database, ids, START)
        assert await planned_rows(database) > 0
    finally:
        gate.opened.set()
        await h.stop_bot()
        await h.tg.stop()


class CountingDatabase(Database):
    """A database that notes, as each write transaction starts, how many of the holiday
    week's digests are still pending in what is committed."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.pending_before: list[int] = []

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        self.pending_before.append(
            await planned_rows(self, *HOLIDAY_WEEK, OutboxMessage.status == OUTBOX_PENDING)
        )
        async with super().write() as session:
            yield session


async def test_a_holiday_import_replans_in_short_transactions(
    database: Database, database_url: str
) -> None:
    ids = await seed_pairs(database, PAIRS, now=START)
    async with database.write() as session:
        for exchange_id in ids:
            await outbox.replan_exchange(
                session, exchange_id, PROGRAMMES, RULES, now=START, weeks=False
            )
    before = await planned_rows(database, *HOLIDAY_WEEK, OutboxMessage.status == OUTBOX_PENDING)
    assert before > 0 and before % PAIRS == 0
    per_pair = before // PAIRS

    # As the holiday import does: the periods first, committed; then the re-plan.
    async with database.write() as session:
        added, _ = await school_holidays.store_periods(
            session, [HolidayPeriod("noord", "Krokusvakantie", *HOLIDAY)]
        )
    assert added == 1
    counting = CountingDatabase(database_url)
    try:
        replanned = await school_holidays.replan_regions(
            counting, {"noord"}, PROGRAMMES, RULES, clock=FakeClock(START)
        )
    finally:
        await counting.dispose()

    assert replanned == PAIRS
    # One transaction per chunk of pairs, then one for the coordinators' weeks; each chunk's
    # changes are committed before the next chunk starts.
    chunks = math.ceil(PAIRS / outbox.REPLAN_CHUNK)
    assert counting.pending_before == [
        max(0, PAIRS - outbox.REPLAN_CHUNK * n) * per_pair for n in range(chunks + 1)
    ]
    assert await planned_rows(database, *HOLIDAY_WEEK, OutboxMessage.status == OUTBOX_PENDING) == 0
    cancelled = await planned_rows(
        database, *HOLIDAY_WEEK, OutboxMessage.status == OUTBOX_CANCELLED
    )
    assert cancelled == before
    async with database.read() as session:
        assert await active_exchange_ids(session, "noord") == ids
    await replanning_changes_nothing(database, ids, START)
