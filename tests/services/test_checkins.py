"""The check-in service on a real database: who may work, checking in once, checking out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import checkins
from db.models import CheckIn
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    DAY_1,
    PROGRAMMES,
    STRANGER,
    TEACHER_A,
    at,
    user,
    world,
)


async def exchange_day(session: AsyncSession) -> checkins.DayOfExchange:
    days = await checkins.days_today(session, await user(session, BEGELEIDER), PROGRAMMES, DAY_1)
    assert len(days) == 1
    return days[0]


async def test_the_exchange_day_is_found_for_members_only(database: Database) -> None:
    w = await world(database)
    async with database.read() as session:
        begeleider = await user(session, BEGELEIDER)
        days = await checkins.days_today(session, begeleider, PROGRAMMES, DAY_1)
        assert [(d.exchange.id, d.phase.phase_key) for d in days] == [
            (w.exchange_id, "exchange_day_1")
        ]
        stranger = await user(session, STRANGER)
        assert await checkins.days_today(session, stranger, PROGRAMMES, DAY_1) == []
        assert await checkins.may_work(session, stranger, w.exchange_id) is False
        assert await checkins.may_work(session, await user(session, TEACHER_A), w.exchange_id)
        before = DAY_1.replace(day=1)
        later = await checkins.next_day(
            session, await user(session, BEGELEIDER), PROGRAMMES, before
        )
        assert later is not None and later.phase.starts_on == DAY_1


async def test_checking_in_twice_keeps_the_first_time(database: Database) -> None:
    await world(database)
    first, second = at(DAY_1, 8, 20), at(DAY_1, 8, 40)
    async with database.write() as session:
        day = await exchange_day(session)
        row, new = await checkins.check_in(session, day, BEGELEIDER, now=first)
        assert new
    async with database.write() as session:
        day = await exchange_day(session)
        again, new = await checkins.check_in(session, day, BEGELEIDER, now=second)
        assert not new and again.id == row.id
    async with database.read() as session:
        rows = list(await session.scalars(select(CheckIn)))
        assert [(r.user_id, r.day, r.phase_key, r.checked_in_at) for r in rows] == [
            (BEGELEIDER, DAY_1, "exchange_day_1", first)
        ]
        assert await checkins.checked_in_users(session, row.exchange_id, DAY_1) == {BEGELEIDER}
        today = await checkins.todays_checkin(session, BEGELEIDER, DAY_1)
        assert today is not None and today.id == row.id


async def test_check_out_stores_the_evaluation_on_the_own_check_in(database: Database) -> None:
    await world(database)
    async with database.write() as session:
        day = await exchange_day(session)
        row, _ = await checkins.check_in(session, day, BEGELEIDER, now=at(DAY_1, 8, 20))
    async with database.write() as session:
        assert await checkins.checkin_by_id(session, row.id, TEACHER_A) is None  # not theirs
        own = await checkins.checkin_by_id(session, row.id, BEGELEIDER)
        assert own is not None
        await checkins.check_out(
            session,
            own,
            rating=4,
            tension=True,
            tension_note="Wat geduw bij de lunch",
            remarks=None,
            now=at(DAY_1, 14, 30),
        )
    async with database.read() as session:
        reports = await checkins.day_reports(session, row.exchange_id)
        assert [(c.rating, c.tension, c.tension_note, u.id) for c, u in reports] == [
            (4, True, "Wat geduw bij de lunch", BEGELEIDER)
        ]
        assert reports[0][0].checked_out_at == at(DAY_1, 14, 30)
