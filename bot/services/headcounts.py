"""Headcounts on exchange days: each count, a lower count than before, and its answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.headcounts import check_count, likely_moment, offered_moments
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.services import auth, checkins, exchanges, incidents
from bot.services.checkins import DayOfExchange
from db.models import (
    STATUS_ACTIVE,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    Headcount,
    Incident,
    User,
)
from db.session import rowcount

# What counting needs of an exchange: its classes and schools, and its days.
_COUNTING = (
    selectinload(Exchange.sides).joinedload(ExchangeSide.school),
    selectinload(Exchange.phases),
)


def _day_of(
    exchange: Exchange, programmes: Mapping[str, Programme], today: date
) -> DayOfExchange | None:
    """The exchange's first exchange day (or closing) today, as checkins.days_today finds it."""
    programme = programmes.get(exchange.programme_key)
    for row in exchange.phases:
        if programme and row.starts_on == today and programme.phase(row.phase_key).kind == "day":
            return DayOfExchange(exchange, row)
    return None


async def days_today(
    session: AsyncSession, user: User, programmes: Mapping[str, Programme], today: date
) -> list[checkins.DayRow]:
    """The exchange days today the user may count on, as checkins.days_today lists them, as
    light rows (checkins.day_rows): a coordinator's thousand pairs are named, not loaded;
    `day_today` loads the one that is counted."""
    return await checkins.day_rows(session, user, programmes, today)


async def day_today(
    session: AsyncSession,
    user: User,
    programmes: Mapping[str, Programme],
    today: date,
    exchange_id: int | None,
) -> DayOfExchange | None:
    """Today's day of one exchange, as `days_today` would list it: only that one is read."""
    if exchange_id is None:
        return None
    exchange = await session.scalar(
        select(Exchange)
        .where(Exchange.id == exchange_id, Exchange.status == STATUS_ACTIVE)
        .options(*_COUNTING)
    )
    if exchange is None or not await checkins.may_work(session, user, exchange.id):
        return None
    return _day_of(exchange, programmes, today)


# How a drop was accounted for, as stored in Headcount.drop_answer.
DROP_ANSWERS = ("home", "elsewhere", "missing")


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


async def moments_to_offer(
    session: AsyncSession,
    exchange: Exchange,
    programme: Programme,
    day: ExchangePhase,
    *,
    now: time,
) -> tuple[str, ...]:
    """The moments a count taken now (local time) may be for, the likely one first.

    The day's own moments (a day without a speurtocht has only its arrival and its end,
    `day_moments`), and "tussendoor"; the likely one is nearest by the schedule.
    """
    phase = programme.phase(day.phase_key)
    recorded = [h.moment for h in await counts_today(session, exchange.id, day.starts_on)]
    return offered_moments(phase, likely_moment(phase, day.start_time, recorded, now))


def check_both(exchange: Exchange, typed: Sequence[str]) -> tuple[int, int]:
    """Both schools' counts as typed (`/aanwezig 24 22`); InputError for one that cannot be."""
    a, b = (
        check_count(raw, exchanges.side_of(exchange, side).class_size)
        for raw, side in zip(typed, ("A", "B"), strict=True)
    )
    return a, b


@dataclass(frozen=True)
class BothCounted:
    """`/aanwezig 24 22`: both schools counted for one moment, and the drops among them."""

    moment: str
    counts: tuple[tuple[ExchangeSide, int], ...]
    drops: tuple[int, ...]  # headcount ids whose count is lower than before


async def record_both(
    session: AsyncSession,
    exchange: Exchange,
    day: date,
    counts: Sequence[int],
    moment: str,
    *,
    user_id: int,
    now: datetime,
) -> BothCounted:
    """Both schools' counts at once, for the moment the counter chose; each is compared with
    that school's previous count of the day."""
    sides = (exchanges.side_of(exchange, "A"), exchanges.side_of(exchange, "B"))
    drops = []
    for side, count in zip(sides, counts, strict=True):
        drop = await record_count(
            session, exchange, day, side.side, moment, count, user_id=user_id, now=now
        )
        if drop is not None:
            drops.append(drop.headcount_id)
    return BothCounted(moment, tuple(zip(sides, counts, strict=True)), tuple(drops))


async def drops(session: AsyncSession, headcount_ids: list[int]) -> list[Drop]:
    """The drops among these counts that still wait for an answer, in the order given."""
    found = []
    for headcount_id in headcount_ids:
        row = await session.get(Headcount, headcount_id)
        drop = Drop.of(row) if row is not None and row.drop_answer is None else None
        if drop is not None:
            found.append(drop)
    return found


@dataclass(frozen=True)
class DropAnswer:
    """What became of an answer to "is everyone accounted for?".

    `outcome` is "recorded" (this answer counts; `incident` is the new alarm for "missing"),
    "answered" (someone answered before: `previous` says how, `incident` is its alarm, if any),
    "expired" (not today's count, not a drop, or the exchange is archived) or "not_allowed".
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
