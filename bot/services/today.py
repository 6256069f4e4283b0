"""A coordinator's /vandaag: the pairs with an exchange day today, a page at a time, with who
of their begeleiders has checked in; on a day without any, the next days that have some.

Read as a few plain columns (checkins.day_rows), in the same few queries for three pairs or a
thousand: only the page shown has its check-ins counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.outbox import planned_for
from bot.domain.programme import Programme
from bot.services.checkins import DayRow, day_rows, is_day, visible_to
from db.models import ROLE_BEGELEIDER, CheckIn, Exchange, ExchangePhase, Membership, User

# Pairs per page: one short entry each, with a button each, fits a phone's screen.
PAGE_SIZE = 10
# Days named when there is no exchange day today.
NEXT_DAYS = 3


@dataclass(frozen=True)
class PairToday:
    """One pair's exchange day today: when it starts (its own time, else the programme's),
    and how many of its begeleiders have checked in of those `expected` (planned for the
    day, and any who checked in besides)."""

    day: DayRow
    starts_at: time | None
    present: int
    expected: int


@dataclass(frozen=True)
class CoordinatorDay:
    """What a coordinator's /vandaag shows: a page of today's pairs, earliest start first, or
    the next days with exchange days (date, number of pairs) when there are none today."""

    total: int
    offset: int
    page: tuple[PairToday, ...]
    next_days: tuple[tuple[date, int], ...] = ()
    any_pairs: bool = True


def _starts_at(row: DayRow, programmes: Mapping[str, Programme]) -> time | None:
    if row.start_time is not None:
        return row.start_time
    programme = programmes.get(row.programme_key)
    return programme.phase(row.phase_key).default_start_time if programme else None


async def _attendance(
    session: AsyncSession, rows: Sequence[DayRow], today: date
) -> dict[tuple[int, str], tuple[int, int]]:
    """(present, expected) begeleiders of each (exchange id, phase key) of `rows` today."""
    ids = {r.exchange_id for r in rows}
    if not ids:
        return {}
    planned = await session.execute(
        select(Membership.exchange_id, Membership.user_id, Membership.days).where(
            Membership.exchange_id.in_(ids), Membership.role == ROLE_BEGELEIDER
        )
    )
    begeleiders: dict[int, list[tuple[int, Sequence[str] | None]]] = {}
    for exchange_id, user_id, days in planned:
        begeleiders.setdefault(exchange_id, []).append((user_id, days))
    checked = await session.execute(
        select(CheckIn.exchange_id, CheckIn.user_id).where(
            CheckIn.exchange_id.in_(ids), CheckIn.day == today
        )
    )
    there: dict[int, set[int]] = {}
    for exchange_id, user_id in checked:
        there.setdefault(exchange_id, set()).add(user_id)
    out = {}
    for row in rows:
        present = there.get(row.exchange_id, set())
        people = begeleiders.get(row.exchange_id, [])
        came = {u for u, _ in people if u in present}
        expected = {u for u, days in people if planned_for(days, row.phase_key)} | came
        out[(row.exchange_id, row.phase_key)] = (len(came), len(expected))
    return out


async def _next_days(
    session: AsyncSession, user: User, programmes: Mapping[str, Programme], today: date
) -> tuple[tuple[date, int], ...]:
    rows = await session.execute(
        select(ExchangePhase.starts_on, func.count(distinct(ExchangePhase.exchange_id)))
        .join(Exchange, Exchange.id == ExchangePhase.exchange_id)
        .where(ExchangePhase.starts_on > today, is_day(programmes), *visible_to(user))
        .group_by(ExchangePhase.starts_on)
        .order_by(ExchangePhase.starts_on)
        .limit(NEXT_DAYS)
    )
    return tuple((day, count) for day, count in rows)


async def coordinator_day(
    session: AsyncSession,
    user: User,
    programmes: Mapping[str, Programme],
    today: date,
    offset: int = 0,
) -> CoordinatorDay:
    """The page at `offset` of the pairs with an exchange day today, earliest start first
    (and of those starting together, by number)."""
    rows = await day_rows(session, user, programmes, today)
    if not rows:
        upcoming = await _next_days(session, user, programmes, today)
        any_pairs = bool(upcoming) or (
            await session.scalar(select(Exchange.id).where(*visible_to(user)).limit(1)) is not None
        )
        return CoordinatorDay(0, 0, (), upcoming, any_pairs)
    timed = [(r, _starts_at(r, programmes)) for r in rows]
    timed.sort(key=lambda pair: (pair[1] is None, pair[1] or time.min, pair[0].exchange_id))
    offset = offset if 0 <= offset < len(timed) else 0
    shown = timed[offset : offset + PAGE_SIZE]
    counts = await _attendance(session, [r for r, _ in shown], today)
    page = tuple(
        PairToday(r, starts_at, *counts.get((r.exchange_id, r.phase_key), (0, 0)))
        for r, starts_at in shown
    )
    return CoordinatorDay(len(timed), offset, page)
