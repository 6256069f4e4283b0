"""Check-in and check-out on exchange days: who is there, and the day's evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

from bot.domain.outbox import planned_for
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.services import absences, auth, exchanges
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    STATUS_ACTIVE,
    CheckIn,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    Membership,
    School,
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


def is_day(programmes: Mapping[str, Programme]) -> ColumnElement[bool]:
    """In SQL: the phase row is an exchange day (or closing) of its exchange's programme, not a
    week of lessons (a phase the programme does not know is neither)."""
    found = [
        and_(
            Exchange.programme_key == key,
            ExchangePhase.phase_key.in_([p.key for p in programme.day_phases]),
        )
        for key, programme in programmes.items()
        if programme.day_phases
    ]
    return or_(*found) if found else false()


def visible_to(user: User, *, action: Action | None = None) -> list[ColumnElement[bool]]:
    """In SQL: the active exchanges the user sees (all for a coordinator, else their own);
    with `action`, only those where they may do it, as auth.may would say."""
    found: list[ColumnElement[bool]] = [Exchange.status == STATUS_ACTIVE]
    if action is None:
        if user.is_coordinator:
            return found
        roles = [ROLE_TEACHER, ROLE_BEGELEIDER]
    elif auth.may_everywhere(user, action):
        return found
    else:
        roles = auth.roles_that_may(action, (ROLE_TEACHER, ROLE_BEGELEIDER))
    member_of = select(Membership.exchange_id).where(
        Membership.user_id == user.id, Membership.role.in_(roles)
    )
    found.append(Exchange.id.in_(member_of))
    return found


@dataclass(frozen=True)
class DayRow:
    """An exchange day today as lists show it, read as a few plain columns: a coordinator's
    thousand pairs are not loaded as objects to name today's."""

    exchange_id: int
    title: str  # "De Avonturijn – De Odyssee"
    programme_key: str
    phase_key: str
    start_time: time | None
    host: str  # "A", "B", "online", …
    schools: Mapping[str, str]  # side → school name

    @property
    def label(self) -> str:
        """As exchanges.label: '#12 De Avonturijn – De Odyssee'."""
        return f"#{self.exchange_id} {self.title}"


async def day_rows(
    session: AsyncSession, user: User, programmes: Mapping[str, Programme], today: date
) -> list[DayRow]:
    """The exchange days (and closings) today in exchanges where the user may work, as
    `days_today` finds them and in its order (newest exchange first), in one query."""
    rows = await session.execute(
        select(
            Exchange.id,
            Exchange.programme_key,
            ExchangePhase.phase_key,
            ExchangePhase.start_time,
            ExchangePhase.host,
            ExchangeSide.side,
            School.name,
        )
        .select_from(ExchangePhase)
        .join(Exchange, Exchange.id == ExchangePhase.exchange_id)
        .outerjoin(ExchangeSide, ExchangeSide.exchange_id == Exchange.id)
        .outerjoin(School, School.id == ExchangeSide.school_id)
        .where(
            ExchangePhase.starts_on == today,
            is_day(programmes),
            *visible_to(user, action=Action.FIELD_WORK),
        )
        .order_by(
            Exchange.start_date.desc(), Exchange.id.desc(), ExchangePhase.id, ExchangeSide.side
        )
    )
    found: dict[tuple[int, str], tuple[str, str, time | None, str, dict[str, str]]] = {}
    for exchange_id, programme_key, phase_key, start_time, host, side, school in rows:
        entry = found.setdefault(
            (exchange_id, phase_key), (programme_key, phase_key, start_time, host, {})
        )
        if side is not None and school is not None:
            entry[4][side] = school
    return [
        DayRow(
            exchange_id,
            " – ".join(schools[s] for s in sorted(schools)),
            programme_key,
            phase_key,
            start_time,
            host,
            schools,
        )
        for (exchange_id, _), (programme_key, phase_key, start_time, host, schools) in (
            found.items()
        )
    ]


async def any_day_today(
    session: AsyncSession, user: User, programmes: Mapping[str, Programme], today: date
) -> bool:
    """Whether `day_rows` would find any, from one row."""
    found = await session.scalar(
        select(ExchangePhase.id)
        .join(Exchange, Exchange.id == ExchangePhase.exchange_id)
        .where(
            ExchangePhase.starts_on == today,
            is_day(programmes),
            *visible_to(user, action=Action.FIELD_WORK),
        )
        .limit(1)
    )
    return found is not None


async def next_day(
    session: AsyncSession, user: User, programmes: Mapping[str, Programme], today: date
) -> DayOfExchange | None:
    """The user's next exchange day after today, for "not today, but then": found in one
    light query, and only that exchange is loaded."""
    first = (
        await session.execute(
            select(ExchangePhase.exchange_id, ExchangePhase.id)
            .join(Exchange, Exchange.id == ExchangePhase.exchange_id)
            .where(ExchangePhase.starts_on > today, is_day(programmes), *visible_to(user))
            .order_by(ExchangePhase.starts_on, ExchangePhase.exchange_id, ExchangePhase.id)
            .limit(1)
        )
    ).first()
    if first is None:
        return None
    exchange = await exchanges.load_exchange(session, first.exchange_id)
    if exchange is None:
        return None
    row = next(p for p in exchange.phases if p.id == first.id)
    return DayOfExchange(exchange, row)


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
