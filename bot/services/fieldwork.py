"""Check-in, check-out and headcounts on exchange days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.services import auth, exchanges, incidents
from db.models import (
    STATUS_ACTIVE,
    CheckIn,
    Exchange,
    ExchangePhase,
    Headcount,
    Incident,
    User,
)
from db.session import rowcount


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
    """A side has fewer pupils than at its previous count of the day ("22 → 20")."""

    headcount_id: int
    side: str
    before: int
    after: int
    previous_moment: str

    @property
    def fewer(self) -> int:
        return self.before - self.after

    @classmethod
    def of(cls, row: Headcount) -> Drop | None:
        """The drop a stored count shows against the count it was compared with, if any."""
        if row.previous_count is None or row.count >= row.previous_count:
            return None
        return cls(row.id, row.side, row.previous_count, row.count, row.previous_moment or "free")


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
        previous_count=previous[-1].count if previous else None,
        previous_moment=previous[-1].moment if previous else None,
    )
    session.add(row)
    await session.flush()
    return Drop.of(row)


async def drops(session: AsyncSession, headcount_ids: list[int]) -> list[Drop]:
    """The drops among these counts that still wait for an answer, in the order given."""
    found = []
    for headcount_id in headcount_ids:
        row = await session.get(Headcount, headcount_id)
        drop = Drop.of(row) if row is not None and row.drop_answer is None else None
        if drop is not None:
            found.append(drop)
    return found


# How a drop was accounted for, as stored in Headcount.drop_answer.
DROP_ANSWERS = ("home", "elsewhere", "missing")


@dataclass(frozen=True)
class DropAnswer:
    """What became of an answer to "is everyone accounted for?".

    `outcome` is "recorded" (this answer counts; `incident` is the new alarm for "missing"),
    "answered" (someone answered before: `previous` says how, `incident` is its alarm, if any),
    "expired" (not today's count, not a drop, or the pair is archived) or "not_allowed".
    """

    outcome: str
    drop: Drop | None = None
    exchange: Exchange | None = None
    incident: Incident | None = None
    previous: str | None = None


async def answer_drop(
    session: AsyncSession,
    user: User,
    headcount_id: int,
    answer: str,
    *,
    today: date,
    now: datetime,
    ack_window: timedelta,
) -> DropAnswer:
    """Record how a drop is accounted for; "missing" raises one urgent alarm, never two.

    The answer is taken with a conditional update (only while none is stored), so of two taps
    at the same moment, even from two chats on two connections, exactly one counts: on
    PostgreSQL the second update waits for the first's row lock and then finds the answer set.
    """
    if answer not in DROP_ANSWERS:
        raise ValueError(answer)
    row = await session.get(Headcount, headcount_id)
    if row is None:
        return DropAnswer("not_allowed")
    try:
        await auth.require_exchange(session, user, Action.FIELD_WORK, row.exchange_id)
    except auth.Archived:
        return DropAnswer("expired")
    except auth.NotAllowed:
        return DropAnswer("not_allowed")
    exchange = await exchanges.load_exchange(session, row.exchange_id)
    drop = Drop.of(row)
    if exchange is None or drop is None or row.day != today or exchange.status != STATUS_ACTIVE:
        return DropAnswer("expired", drop, exchange)
    taken = await session.execute(
        update(Headcount)
        .where(Headcount.id == row.id, Headcount.drop_answer.is_(None))
        .values(drop_answer=answer, drop_answered_by=user.id, drop_answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        await session.refresh(row)
        earlier = await session.get(Incident, row.incident_id) if row.incident_id else None
        return DropAnswer("answered", drop, exchange, earlier, row.drop_answer)
    incident = None
    if answer == "missing":
        incident = await incidents.report(
            session,
            exchange,
            reported_by=user.id,
            category="missing",
            severity="urgent",
            team_number=None,
            description=None,
            photo_file_id=None,
            now=now,
            ack_window=ack_window,
        )
        await session.execute(
            update(Headcount)
            .where(Headcount.id == row.id)
            .values(incident_id=incident.id)
            .execution_options(synchronize_session=False)
        )
    await session.refresh(row)
    return DropAnswer("recorded", drop, exchange, incident)


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
    # Through auth: an archived pair takes no more check-ins, counts or reports.
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
