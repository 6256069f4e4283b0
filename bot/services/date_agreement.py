"""Agreeing the dates of the exchange days and the closing (/datum)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.dates import DateParseError, parse_date, parse_time
from bot.domain.exchange_input import InputError
from bot.domain.holidays import in_periods, is_public_holiday
from bot.domain.outbox import (
    DATE_AGREED,
    DATE_DECLINED,
    DATE_PROPOSAL,
    AgreedPayload,
    DeclinedPayload,
    ProposalPayload,
    Rules,
)
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.domain.timeline import phase_window
from bot.services import audit, auth, exchanges, outbox
from db.models import (
    PROPOSAL_ACCEPTED,
    PROPOSAL_DECLINED,
    PROPOSAL_PENDING,
    PROPOSAL_SUPERSEDED,
    ROLE_TEACHER,
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
        raise InputError("date_agreement.in_past")
    if day.weekday() >= 5:
        raise InputError("date_agreement.weekend")
    if not first <= day <= last:
        raise InputError("date_agreement.outside_window", first=first, last=last)
    if is_public_holiday(day):
        raise InputError("date_agreement.public_holiday")
    if in_periods(day, school_holidays):
        raise InputError("date_agreement.school_holiday")
    order = day_phase_keys(exchange, programme)
    position = order.index(phase_key)
    for other_key in order[:position]:
        other = phase_row(exchange, other_key)
        if other.starts_on >= day:
            raise InputError(
                "date_agreement.after_other",
                phase=programme.phase(other_key).name,
                other=other.starts_on,
            )
    for other_key in order[position + 1 :]:
        other = phase_row(exchange, other_key)
        if other.starts_on <= day:
            raise InputError(
                "date_agreement.before_other",
                phase=programme.phase(other_key).name,
                other=other.starts_on,
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
        raise InputError("date_agreement.time_unrecognised") from error
    if not EARLIEST_START <= value <= LATEST_START:
        raise InputError(
            "date_agreement.time_out_of_hours", earliest=EARLIEST_START, latest=LATEST_START
        )
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


@dataclass(frozen=True)
class Before:
    """Where a day phase stood before it was fixed: told to everyone when it moved."""

    day: date
    start_time: time | None
    agreed: bool


def apply_date(
    exchange: Exchange, phase_key: str, day: date, start_time: time | None
) -> Before | None:
    """Fix the phase on this day (a day phase lasts one day); where it stood before, when the
    day or its start time changed."""
    row = phase_row(exchange, phase_key)
    before = Before(row.starts_on, row.start_time, row.agreed)
    moved = row.starts_on != day or (start_time is not None and row.start_time != start_time)
    if moved:
        row.revision += 1
    row.starts_on = day
    row.ends_on = day
    if start_time is not None:
        row.start_time = start_time
    row.agreed = True
    return before if moved else None


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


# -- deciding: who may fix a date, and what fixing or proposing changes ----------------------


@dataclass(frozen=True)
class Setter:
    """Who sets a date of this exchange, and how: a coordinator decides, a teacher proposes."""

    exchange: Exchange
    side: str | None
    decides: bool


async def may_set(session: AsyncSession, user: User, exchange_id: int) -> Setter:
    """How the user may set a date of the exchange; auth.NotAllowed (or Archived) if not."""
    try:
        exchange = await auth.require_exchange(session, user, Action.SET_DATE, exchange_id)
    except auth.Archived:
        raise
    except auth.NotAllowed:
        exchange = await auth.require_exchange(session, user, Action.PROPOSE_DATE, exchange_id)
    else:
        return Setter(exchange, None, True)
    side = await auth.teaching_side(session, user.id, exchange_id)
    assert side is not None  # PROPOSE_DATE is a teacher's right
    return Setter(exchange, side, False)


@dataclass(frozen=True)
class SetResult:
    decided: bool  # True: fixed at once (coordinator); False: proposed to the other side
    phase_key: str
    day: date
    start: time
    names: list[str]  # who got the proposal (empty: it went to the coordinator)
    # When the message about it goes out, if it waits for quiet hours to end (None: at once).
    arrives: datetime | None = None


async def set_date(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    phase_key: str,
    day: date,
    start: time,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    today: date,
    now: datetime,
) -> SetResult:
    """Check the whole choice again and store it: a proposal, or a coordinator's decision.

    Raises auth.NotAllowed (the exchange is not the user's, or archived) or InputError.
    """
    setter = await may_set(session, user, exchange_id)
    exchange = await exchanges.load_exchange(session, setter.exchange.id)
    assert exchange is not None
    programme = programmes[exchange.programme_key]
    check_day(
        exchange,
        programme,
        phase_key,
        day,
        today=today,
        school_holidays=await outbox.holidays_for(session, exchange.region),
    )
    if setter.decides:
        was = phase_row(exchange, phase_key).starts_on
        before = apply_date(exchange, phase_key, day, start)
        _log_date(session, user, exchange, phase_key, audit.DATE_SET, now=now, was=was)
        await session.flush()
        await outbox.replan_exchange(session, exchange.id, programmes, rules, now=now)
        await notify_agreed(session, exchange, phase_key, before, exclude=user.id, now=now)
        arrives = await outbox.delivery_time(session, exchange.id, now=now, rules=rules)
        return SetResult(True, phase_key, day, start, [], arrives)
    proposal = await propose(
        session, exchange, phase_key, day, start, user_id=user.id, side=setter.side, now=now
    )
    others = [
        m.user for m in exchange.memberships if m.role == ROLE_TEACHER and m.side != setter.side
    ]
    recipients = [u.id for u in others] or [
        u.id for u in await exchanges.coordinators_of(session, exchange)
    ]
    await outbox.tell(
        session,
        recipients,
        exchange_id=exchange.id,
        kind=DATE_PROPOSAL,
        payload=ProposalPayload(proposal=proposal.id),
        dedupe_key=lambda user_id: f"proposal:{proposal.id}:{user_id}",
        now=now,
    )
    arrives = await outbox.delivery_time(session, exchange.id, now=now, rules=rules)
    return SetResult(False, phase_key, day, start, [u.display_name for u in others], arrives)


def _log_date(
    session: AsyncSession,
    user: User,
    exchange: Exchange,
    phase_key: str,
    action: str,
    *,
    now: datetime,
    was: date | None = None,
) -> None:
    """Write a date fixed by a coordinator (`was`: the day before, when it moved) or agreed
    by the teachers to the exchange's log."""
    row = phase_row(exchange, phase_key)
    details: dict[str, str | None] = {
        "phase": phase_key,
        "day": row.starts_on.isoformat(),
        "time": row.start_time.strftime("%H:%M") if row.start_time else None,
    }
    if action == audit.DATE_SET:
        details["old_day"] = was.isoformat() if was is not None and was != row.starts_on else None
    audit.record(
        session, exchange_id=exchange.id, user_id=user.id, action=action, now=now, details=details
    )


async def notify_agreed(
    session: AsyncSession,
    exchange: Exchange,
    phase_key: str,
    before: Before | None,
    *,
    exclude: int,
    now: datetime,
) -> None:
    """Tell every member (teachers and begeleiders) and the coordinator that a date is fixed,
    and where it was before when it moved."""
    people = {m.user_id for m in exchange.memberships}
    people |= {u.id for u in await exchanges.coordinators_of(session, exchange)}
    payload = AgreedPayload(phase=phase_key)
    revision = phase_row(exchange, phase_key).revision
    if before is not None and before.agreed:
        # Only an agreed day "moves"; a provisional one is simply agreed now.
        payload["was_date"] = before.day.isoformat()
        payload["was_time"] = before.start_time.strftime("%H:%M") if before.start_time else ""
    await outbox.tell(
        session,
        sorted(people - {exclude}),
        exchange_id=exchange.id,
        kind=DATE_AGREED,
        payload=payload,
        # One message per version of the day: agreeing the same day twice tells nobody twice.
        dedupe_key=lambda user_id: f"agreed:{exchange.id}:{phase_key}:{revision}:{user_id}",
        now=now,
        sender_id=exclude,
    )


class Outcome(StrEnum):
    GONE = "gone"  # decided before, superseded, or never existed
    # Decided before by this same person, the same way (a double tap on the button).
    ALREADY_ACCEPTED = "already_accepted"
    ALREADY_DECLINED = "already_declined"
    ACCEPTED = "accepted"
    IMPOSSIBLE = "impossible"  # accepted too late: the day can no longer be agreed
    DECLINED = "declined"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    exchange_id: int | None = None
    phase_key: str | None = None
    day: date | None = None
    problem: InputError | None = None
    # When the others hear of the answer, if that waits for quiet hours to end (None: at once).
    arrives: datetime | None = None
    # Declined: the proposer, who hears it.
    proposer: str | None = None


async def _decided_before(
    session: AsyncSession, proposal: DateProposal, user: User, *, accept: bool
) -> Answer:
    """Why a proposal can no longer be answered: this user's own earlier answer (the same
    one again), or someone else's decision."""
    # Read again: a press at the same moment may have decided it since it was first read.
    await session.refresh(proposal)
    if proposal.decided_by == user.id:
        if accept and proposal.status == PROPOSAL_ACCEPTED:
            return Answer(Outcome.ALREADY_ACCEPTED, proposal.exchange_id, proposal.phase_key)
        if not accept and proposal.status == PROPOSAL_DECLINED:
            return Answer(Outcome.ALREADY_DECLINED, proposal.exchange_id, proposal.phase_key)
    return Answer(Outcome.GONE)


async def answer_proposal(
    session: AsyncSession,
    user: User,
    proposal_id: int,
    *,
    accept: bool,
    programmes: Mapping[str, Programme],
    rules: Rules,
    today: date,
    now: datetime,
) -> Answer:
    """Accept or decline a pending proposal ("Akkoord" / "Ander voorstel").

    Only a teacher of the other school, or a coordinator, may answer, and only while the exchange
    is active: auth.NotAllowed (or auth.Archived) otherwise.
    """
    found = await session.get(DateProposal, proposal_id)
    if found is None:
        return Answer(Outcome.GONE)
    setter = await may_set(session, user, found.exchange_id)
    if not setter.decides:
        await auth.require_side(
            session, user, Action.PROPOSE_DATE, found.exchange_id, found.side or "", own=False
        )
    # Locked after the exchange (taken by auth): every writer of an exchange locks in that order.
    proposal = await pending_proposal(session, proposal_id)
    if proposal is None:
        return await _decided_before(session, found, user, accept=accept)
    exchange = await exchanges.load_exchange(session, proposal.exchange_id)
    assert exchange is not None
    phase_key = proposal.phase_key
    if not accept:
        decide(proposal, accepted=False, user_id=user.id, now=now)
        proposer = (
            await session.get(User, proposal.proposed_by)
            if proposal.proposed_by is not None
            else None
        )
        arrives = None
        if proposal.proposed_by is not None:
            await outbox.enqueue(
                session,
                user_id=proposal.proposed_by,
                exchange_id=exchange.id,
                kind=DATE_DECLINED,
                dedupe_key=f"declined:{proposal.id}",
                payload=DeclinedPayload(phase=phase_key, by=user.display_name),
                now=now,
                sender_id=user.id,  # who declined: hears if the proposer never gets it
            )
            arrives = await outbox.delivery_time(session, exchange.id, now=now, rules=rules)
        return Answer(
            Outcome.DECLINED,
            exchange.id,
            phase_key,
            proposal.day,
            arrives=arrives,
            proposer=proposer.display_name if proposer is not None else None,
        )
    try:
        check_day(
            exchange,
            programmes[exchange.programme_key],
            phase_key,
            proposal.day,
            today=today,
            school_holidays=await outbox.holidays_for(session, exchange.region),
        )
    except InputError as problem:
        decide(proposal, accepted=False, user_id=user.id, now=now)
        return Answer(Outcome.IMPOSSIBLE, exchange.id, phase_key, proposal.day, problem)
    decide(proposal, accepted=True, user_id=user.id, now=now)
    before = apply_date(exchange, phase_key, proposal.day, proposal.start_time)
    _log_date(session, user, exchange, phase_key, audit.DATE_AGREED, now=now)
    await session.flush()
    await outbox.replan_exchange(session, exchange.id, programmes, rules, now=now)
    await notify_agreed(session, exchange, phase_key, before, exclude=user.id, now=now)
    arrives = await outbox.delivery_time(session, exchange.id, now=now, rules=rules)
    return Answer(Outcome.ACCEPTED, exchange.id, phase_key, proposal.day, arrives=arrives)
