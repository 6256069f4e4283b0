"""Absences: a begeleider (or teacher) who cannot come on an exchange day, and takes it back.

The coordinators of the exchange hear at once through the outbox, and the person is no longer
counted as missing when the check-in alert is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.outbox import ABSENCE_NEWS, AbsencePayload, end_of_day_utc
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.domain.timeline import AMSTERDAM
from bot.services import auth, exchanges, outbox
from db.models import Absence, Exchange, ExchangePhase, User
from db.session import rowcount

# News about a day this close by cannot wait for the end of quiet hours: the coordinator may
# have to find someone else before the day starts.
URGENT_WITHIN = timedelta(days=1)


@dataclass(frozen=True)
class AbsenceResult:
    """What became of "Ik kan niet" or "Toch wel".

    `outcome`: "recorded" (the coordinators are told), "unchanged" (it was already so),
    "over" (the day is past, moved, or not a day one can be absent on), "not_allowed" or
    "archived". `exchange` and `day` are set unless it was refused.
    """

    outcome: str
    exchange: Exchange | None = None
    day: ExchangePhase | None = None


def may_be_absent(programme: Programme, day: ExchangePhase, today: date) -> bool:
    """Whether one can still say they cannot come: a day phase, today or later."""
    return programme.phase(day.phase_key).kind == "day" and day.starts_on >= today


async def absent_users(session: AsyncSession, exchange_id: int, day: date) -> set[int]:
    """Who said they cannot come on this day of the exchange."""
    rows = await session.scalars(
        select(Absence.user_id).where(Absence.exchange_id == exchange_id, Absence.day == day)
    )
    return set(rows)


async def absent_days(session: AsyncSession, exchange: Exchange, user_id: int) -> set[str]:
    """The phase keys of the days (on their current dates) this person cannot come to."""
    rows = await session.execute(
        select(Absence.phase_key, Absence.day).where(
            Absence.exchange_id == exchange.id, Absence.user_id == user_id
        )
    )
    said = {(key, day) for key, day in rows}
    return {p.phase_key for p in exchange.phases if (p.phase_key, p.starts_on) in said}


async def check(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    phase_key: str,
    *,
    programmes: Mapping[str, Programme],
    today: date,
    lock: bool = False,
) -> AbsenceResult:
    """The exchange and the day ("recorded"), if the user may still say they cannot come to
    it; else why not. Changes nothing (`lock` takes the exchange's lock for a change)."""
    try:
        await auth.require_exchange(session, user, Action.REPORT_ABSENCE, exchange_id, lock=lock)
    except auth.Archived:
        return AbsenceResult("archived")
    except auth.NotAllowed:
        return AbsenceResult("not_allowed")
    exchange = await exchanges.load_exchange(session, exchange_id)
    assert exchange is not None
    programme = programmes.get(exchange.programme_key)
    day = next((p for p in exchange.phases if p.phase_key == phase_key), None)
    if programme is None or day is None or not may_be_absent(programme, day, today):
        return AbsenceResult("over", exchange, day)
    return AbsenceResult("recorded", exchange, day)


async def _tell(
    session: AsyncSession,
    user: User,
    exchange: Exchange,
    day: ExchangePhase,
    *,
    absent: bool,
    today: date,
    now: datetime,
) -> None:
    coordinators = [c.id for c in await exchanges.coordinators_of(session, exchange)]
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    what = "off" if absent else "on"
    await outbox.tell(
        session,
        [c for c in coordinators if c != user.id],
        exchange_id=exchange.id,
        kind=ABSENCE_NEWS,
        payload=AbsencePayload(
            user=user.id, phase=day.phase_key, date=day.starts_on.isoformat(), absent=absent
        ),
        dedupe_key=lambda to: (
            f"absence:{exchange.id}:{day.phase_key}:{user.id}:{what}:{stamp}:{to}"
        ),
        now=now,
        not_after=end_of_day_utc(day.starts_on, AMSTERDAM),
        urgent=day.starts_on - today <= URGENT_WITHIN,
        sender_id=user.id,
    )


async def report(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    phase_key: str,
    *,
    programmes: Mapping[str, Programme],
    today: date,
    now: datetime,
) -> AbsenceResult:
    """The user cannot come on this day: stored once, and the coordinators are told."""
    return await _say(
        session, user, exchange_id, phase_key, True, programmes=programmes, today=today, now=now
    )


async def withdraw(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    phase_key: str,
    *,
    programmes: Mapping[str, Programme],
    today: date,
    now: datetime,
) -> AbsenceResult:
    """ "Toch wel": the user comes after all; the coordinators are told."""
    return await _say(
        session, user, exchange_id, phase_key, False, programmes=programmes, today=today, now=now
    )


async def _say(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    phase_key: str,
    absent: bool,
    *,
    programmes: Mapping[str, Programme],
    today: date,
    now: datetime,
) -> AbsenceResult:
    """Store that the user cannot come (`absent`) or can after all, and tell the coordinators
    when that changed anything."""
    found = await check(
        session, user, exchange_id, phase_key, programmes=programmes, today=today, lock=True
    )
    if found.outcome != "recorded":
        return found
    assert found.exchange is not None and found.day is not None
    exchange, day = found.exchange, found.day
    if absent:
        if user.id in await absent_users(session, exchange.id, day.starts_on):
            return AbsenceResult("unchanged", exchange, day)
        session.add(
            Absence(
                exchange_id=exchange.id,
                phase_key=day.phase_key,
                day=day.starts_on,
                user_id=user.id,
                created_at=now,
            )
        )
        await session.flush()
    else:
        removed = await session.execute(
            delete(Absence).where(
                Absence.exchange_id == exchange.id,
                Absence.phase_key == day.phase_key,
                Absence.user_id == user.id,
            )
        )
        if not rowcount(removed):
            return AbsenceResult("unchanged", exchange, day)
    await _tell(session, user, exchange, day, absent=absent, today=today, now=now)
    return found
