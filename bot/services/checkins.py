"""Check-in and check-out on exchange days: who is there, and the day's evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

from bot.domain.outbox import planned_for
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.services import absences, auth, exchanges
from db.models import (
    ROLE_BEGELEIDER,
    CheckIn,
    Exchange,
    ExchangePhase,
    User,
)


@dataclass(frozen=True)
class DayOfExchange:
    exchange: Exchange
    phase: ExchangePhase


async def days_today(
    session: AsyncSession,
    user: User,
    programmes: Mapping[str, Programme],
    today: date,
    *,
    load: Sequence[ORMOption] | None = None,
) -> list[DayOfExchange]:
    """The exchange days (and closings) today in exchanges where the user may work; `load`
    is what is read of each exchange (default: everything `visible_exchanges` reads)."""
    out = []
    for exchange in await exchanges.visible_exchanges(session, user, day=today, load=load):
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


async def share_location(
    session: AsyncSession, user: User, today: date, *, latitude: float, longitude: float
) -> bool:
    """Keep a shared location with the user's latest check-in of today; False without one
    (or when its exchange takes no more field work, e.g. it was archived)."""
    row = await todays_checkin(session, user.id, today)
    if row is None or not await may_work(session, user, row.exchange_id):
        return False
    row.latitude = latitude
    row.longitude = longitude
    return True


async def checked_in_users(session: AsyncSession, exchange_id: int, day: date) -> set[int]:
    rows = await session.scalars(
        select(CheckIn.user_id).where(CheckIn.exchange_id == exchange_id, CheckIn.day == day)
    )
    return set(rows)


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
    # Through auth: an archived exchange takes no more check-ins, counts or reports.
    return await auth.may(session, user, Action.FIELD_WORK, exchange_id)


async def checkins_of(session: AsyncSession, user_id: int, day: date) -> list[CheckIn]:
    rows = await session.scalars(
        select(CheckIn).where(CheckIn.user_id == user_id, CheckIn.day == day).order_by(CheckIn.id)
    )
    return list(rows)


async def checkin_by_id(session: AsyncSession, checkin_id: int, user_id: int) -> CheckIn | None:
    """The user's own check-in with this id (another user's is not theirs to close)."""
    row = await session.get(CheckIn, checkin_id, with_for_update=True)
    return row if row is not None and row.user_id == user_id else None


@dataclass(frozen=True)
class Attendance:
    """The begeleiders of a day: checked in, said they cannot come, or still expected."""

    present: tuple[User, ...]
    absent: tuple[User, ...]  # said they cannot come, and did not check in after all
    missing: tuple[User, ...]  # neither checked in nor said they cannot come


async def attendance(session: AsyncSession, exchange: Exchange, day: date) -> Attendance:
    """Who of the exchange's begeleiders is there on `day`, who cannot come, who is missing.

    Only begeleiders planned for that day (Membership.days) are expected; one who checks in
    anyway is there all the same.
    """
    checked_in = await checked_in_users(session, exchange.id, day)
    absent = await absences.absent_users(session, exchange.id, day)
    begeleiders = [m for m in exchange.memberships if m.role == ROLE_BEGELEIDER]
    phases = [p.phase_key for p in exchange.phases if p.starts_on <= day <= p.ends_on]
    expected = [
        m.user for m in begeleiders if not phases or any(planned_for(m.days, key) for key in phases)
    ]
    return Attendance(
        present=tuple(m.user for m in begeleiders if m.user_id in checked_in),
        absent=tuple(u for u in expected if u.id not in checked_in and u.id in absent),
        missing=tuple(u for u in expected if u.id not in checked_in and u.id not in absent),
    )
