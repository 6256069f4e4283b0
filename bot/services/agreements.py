"""Agreeing the dates of the exchange days and the closing (/datum)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.dates import DateParseError, parse_date, parse_time
from bot.domain.exchange_input import InputError
from bot.domain.holidays import in_periods, is_public_holiday
from bot.domain.programme import Programme
from bot.domain.timeline import phase_window
from db.models import (
    PROPOSAL_ACCEPTED,
    PROPOSAL_DECLINED,
    PROPOSAL_PENDING,
    PROPOSAL_SUPERSEDED,
    DateProposal,
    Exchange,
    ExchangePhase,
    User,
)

EARLIEST_START = time(7, 0)
LATEST_START = time(18, 0)


def phase_row(exchange: Exchange, phase_key: str) -> ExchangePhase:
    for row in exchange.phases:
        if row.phase_key == phase_key:
            return row
    raise KeyError(phase_key)


def day_phase_keys(exchange: Exchange, programme: Programme) -> list[str]:
    """The phases whose date teachers agree on, in programme order."""
    keys = {p.phase_key for p in exchange.phases}
    return [p.key for p in programme.phases if p.kind == "day" and p.key in keys]


def check_day(
    exchange: Exchange,
    programme: Programme,
    phase_key: str,
    day: date,
    *,
    today: date,
    school_holidays: Sequence[tuple[date, date]],
) -> date:
    """`day` if it can be agreed for the phase; InputError with the reason otherwise."""
    first, last = phase_window(programme, phase_key, exchange.start_date)
    if day < today:
        raise InputError("dates.in_past")
    if day.weekday() >= 5:
        raise InputError("dates.weekend")
    if not first <= day <= last:
        raise InputError("dates.outside_window", first=first, last=last)
    if is_public_holiday(day):
        raise InputError("dates.public_holiday")
    if in_periods(day, school_holidays):
        raise InputError("dates.school_holiday")
    order = day_phase_keys(exchange, programme)
    position = order.index(phase_key)
    for other_key in order[:position]:
        other = phase_row(exchange, other_key)
        if other.starts_on >= day:
            raise InputError(
                "dates.after_other", phase=programme.phase(other_key).name, other=other.starts_on
            )
    for other_key in order[position + 1 :]:
        other = phase_row(exchange, other_key)
        if other.starts_on <= day:
            raise InputError(
                "dates.before_other", phase=programme.phase(other_key).name, other=other.starts_on
            )
    return day


def parse_day(text: str, today: date) -> date:
    try:
        return parse_date(text, today)
    except DateParseError as error:
        raise InputError(f"input.date_{error.reason}") from error


def parse_start(text: str) -> time:
    try:
        value = parse_time(text)
    except DateParseError as error:
        raise InputError("dates.time_unrecognised") from error
    if not EARLIEST_START <= value <= LATEST_START:
        raise InputError("dates.time_out_of_hours", earliest=EARLIEST_START, latest=LATEST_START)
    return value


def choices(
    exchange: Exchange,
    programme: Programme,
    phase_key: str,
    *,
    today: date,
    school_holidays: Sequence[tuple[date, date]],
) -> list[date]:
    """The days that may be chosen for the phase, for buttons."""
    first, last = phase_window(programme, phase_key, exchange.start_date)
    out = []
    day = first
    while day <= last:
        with contextlib.suppress(InputError):
            out.append(
                check_day(
                    exchange,
                    programme,
                    phase_key,
                    day,
                    today=today,
                    school_holidays=school_holidays,
                )
            )
        day += timedelta(days=1)
    return out


async def propose(
    session: AsyncSession,
    exchange: Exchange,
    phase_key: str,
    day: date,
    start_time: time | None,
    *,
    user_id: int,
    side: str | None,
    now: datetime,
) -> DateProposal:
    """Store a proposal; earlier open proposals for the phase are superseded."""
    await session.execute(
        update(DateProposal)
        .where(
            DateProposal.exchange_id == exchange.id,
            DateProposal.phase_key == phase_key,
            DateProposal.status == PROPOSAL_PENDING,
        )
        .values(status=PROPOSAL_SUPERSEDED, decided_at=now)
    )
    proposal = DateProposal(
        exchange_id=exchange.id,
        phase_key=phase_key,
        day=day,
        start_time=start_time,
        proposed_by=user_id,
        side=side,
        status=PROPOSAL_PENDING,
        created_at=now,
    )
    session.add(proposal)
    await session.flush()
    return proposal


def apply_date(exchange: Exchange, phase_key: str, day: date, start_time: time | None) -> None:
    """Fix the phase on this day (a day phase lasts one day)."""
    row = phase_row(exchange, phase_key)
    if row.starts_on != day or (start_time is not None and row.start_time != start_time):
        row.revision += 1
    row.starts_on = day
    row.ends_on = day
    if start_time is not None:
        row.start_time = start_time
    row.agreed = True


async def pending_proposal(session: AsyncSession, proposal_id: int) -> DateProposal | None:
    """The proposal if it is still open (locked: two teachers may press at once)."""
    return await session.scalar(
        select(DateProposal)
        .where(DateProposal.id == proposal_id, DateProposal.status == PROPOSAL_PENDING)
        .with_for_update()
    )


def decide(proposal: DateProposal, *, accepted: bool, user_id: int, now: datetime) -> None:
    proposal.status = PROPOSAL_ACCEPTED if accepted else PROPOSAL_DECLINED
    proposal.decided_by = user_id
    proposal.decided_at = now


async def coordinators_of(session: AsyncSession, exchange: Exchange) -> list[User]:
    """The coordinator who made the pair (if still one), else every coordinator."""
    if exchange.created_by is not None:
        creator = await session.get(User, exchange.created_by)
        if creator is not None and creator.is_coordinator:
            return [creator]
    rows = await session.scalars(
        select(User).where(User.is_coordinator.is_(True)).order_by(User.id)
    )
    return list(rows)
