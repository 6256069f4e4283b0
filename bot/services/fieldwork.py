"""Check-in, check-out and headcounts on exchange days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action, is_allowed
from bot.domain.programme import Programme
from bot.services import auth, exchanges
from db.models import CheckIn, Exchange, ExchangePhase, Headcount, User


@dataclass(frozen=True)
class DayOfExchange:
    exchange: Exchange
    phase: ExchangePhase


async def days_today(
    session: AsyncSession, user: User, programmes: dict[str, Programme], today: date
) -> list[DayOfExchange]:
    """The exchange days (and closings) today in exchanges where the user may work."""
    out = []
    for exchange in await exchanges.visible_exchanges(session, user):
        if not await may_work(session, user, exchange.id):
            continue
        programme = programmes.get(exchange.programme_key)
        for row in exchange.phases:
            if (
                programme
                and row.starts_on == today
                and programme.phase(row.phase_key).kind == "day"
            ):
                out.append(DayOfExchange(exchange, row))
    return out


async def next_day(
    session: AsyncSession, user: User, programmes: dict[str, Programme], today: date
) -> DayOfExchange | None:
    """The user's next exchange day after today, for "not today, but then"."""
    found: list[tuple[date, int, DayOfExchange]] = []
    for exchange in await exchanges.visible_exchanges(session, user):
        programme = programmes.get(exchange.programme_key)
        for row in exchange.phases:
            if programme and row.starts_on > today and programme.phase(row.phase_key).kind == "day":
                found.append((row.starts_on, exchange.id, DayOfExchange(exchange, row)))
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


async def check_in(
    session: AsyncSession, day: DayOfExchange, user_id: int, *, now: datetime
) -> tuple[CheckIn, bool]:
    """Mark the user present; checking in twice keeps the first time. Returns (row, new)."""
    existing = await session.scalar(
        select(CheckIn).where(
            CheckIn.exchange_id == day.exchange.id,
            CheckIn.day == day.phase.starts_on,
            CheckIn.user_id == user_id,
        )
    )
    if existing is not None:
        return existing, False
    row = CheckIn(
        exchange_id=day.exchange.id,
        phase_key=day.phase.phase_key,
        day=day.phase.starts_on,
        user_id=user_id,
        checked_in_at=now,
    )
    session.add(row)
    await session.flush()
    return row, True


async def todays_checkin(session: AsyncSession, user_id: int, today: date) -> CheckIn | None:
    """The user's latest check-in of today (where a shared location belongs)."""
    return await session.scalar(
        select(CheckIn)
        .where(CheckIn.user_id == user_id, CheckIn.day == today)
        .order_by(CheckIn.checked_in_at.desc())
        .limit(1)
    )


async def checked_in_users(session: AsyncSession, exchange_id: int, day: date) -> set[int]:
    rows = await session.scalars(
        select(CheckIn.user_id).where(CheckIn.exchange_id == exchange_id, CheckIn.day == day)
    )
    return set(rows)


async def counts_today(session: AsyncSession, exchange_id: int, day: date) -> list[Headcount]:
    rows = await session.scalars(
        select(Headcount)
        .where(Headcount.exchange_id == exchange_id, Headcount.day == day)
        .order_by(Headcount.recorded_at, Headcount.id)
    )
    return list(rows)


@dataclass(frozen=True)
class Drop:
    """A side has fewer pupils than at the previous count of the day."""

    headcount_id: int
    side: str
    fewer: int
    previous_moment: str


async def record_count(
    session: AsyncSession,
    exchange: Exchange,
    day: date,
    side: str,
    moment: str,
    count: int,
    *,
    user_id: int,
    now: datetime,
) -> Drop | None:
    """Store a headcount; returns the drop when it is lower than the side's previous one."""
    previous = [h for h in await counts_today(session, exchange.id, day) if h.side == side]
    row = Headcount(
        exchange_id=exchange.id,
        day=day,
        side=side,
        moment=moment,
        count=count,
        recorded_by=user_id,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    if previous and count < previous[-1].count:
        return Drop(row.id, side, previous[-1].count - count, previous[-1].moment)
    return None


async def check_out(
    session: AsyncSession,
    checkin: CheckIn,
    *,
    rating: int,
    tension: bool,
    tension_note: str | None,
    remarks: str | None,
    now: datetime,
) -> None:
    checkin.checked_out_at = now
    checkin.rating = rating
    checkin.tension = tension
    checkin.tension_note = tension_note
    checkin.remarks = remarks


async def day_reports(session: AsyncSession, exchange_id: int) -> list[tuple[CheckIn, User]]:
    """Check-ins with their evaluations, for coordinators, oldest day first."""
    rows = await session.execute(
        select(CheckIn, User)
        .join(User, User.id == CheckIn.user_id)
        .where(CheckIn.exchange_id == exchange_id)
        .order_by(CheckIn.day, CheckIn.checked_in_at)
    )
    return [(c, u) for c, u in rows]


async def may_work(session: AsyncSession, user: User, exchange_id: int) -> bool:
    roles = await auth.exchange_roles(session, user.id, exchange_id)
    return is_allowed(
        Action.FIELD_WORK, is_coordinator=user.is_coordinator, roles_in_exchange=roles
    )


async def headcount(session: AsyncSession, headcount_id: int) -> Headcount | None:
    return await session.get(Headcount, headcount_id)


async def checkins_of(session: AsyncSession, user_id: int, day: date) -> list[CheckIn]:
    rows = await session.scalars(
        select(CheckIn).where(CheckIn.user_id == user_id, CheckIn.day == day).order_by(CheckIn.id)
    )
    return list(rows)


async def checkin_by_id(session: AsyncSession, checkin_id: int, user_id: int) -> CheckIn | None:
    """The user's own check-in with this id (another user's is not theirs to close)."""
    row = await session.get(CheckIn, checkin_id, with_for_update=True)
    return row if row is not None and row.user_id == user_id else None
