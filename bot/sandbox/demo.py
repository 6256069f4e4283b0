"""The sandbox's demo data: one city, two pairs at different stages, and their people.

Everything is made the way real people make it: the coordinator's pairs through the
exchange service, invite links with /uitnodigen, every member joining with their own link
through the bot, dates fixed and items ticked through the services, so joins, the log and
the planned messages are exactly what they would be. The pair that is already running is
made in the past (the clock set back to its first Monday) and the time machine then plays
the weeks since, so its people's chats hold the history they would have had.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.holidays import in_periods, is_public_holiday
from bot.domain.programme import Programme
from bot.services import checklists, date_agreement, exchanges, members, outbox
from bot.texts import Texts
from db.models import STATUS_ACTIVE, Exchange, ExchangeSide, User

if TYPE_CHECKING:
    from bot.sandbox.runtime import Sandbox

PROGRAMME = "standaard"
CITY = "Utrecht"
REGION = "midden"
WORK_STARTS = time(9, 0)
# Weeks the programme's days may not fall in, besides public holidays and the school
# holidays a coordinator imported: the sandbox has none imported, and a demo pair should
# not meet over Christmas or in the summer. (month, day) to (month, day), inclusive.
BREAKS = (((12, 21), (1, 4)), ((7, 15), (8, 31)))
# How far the demo looks for a start that is allowed.
SEARCH_WEEKS = 20
INVITE_TOKEN = re.compile(r"\?start=([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str  # "coordinator" | "teacher" | "begeleider"
    pair: int | None = None  # 1 or 2
    side: str | None = None  # "A" | "B" for a teacher


COORDINATOR = Person(9001, "Sanne", "coordinator")
PEOPLE = (
    COORDINATOR,
    Person(9011, "Juf Anna", "teacher", 1, "A"),
    Person(9012, "Meester Bram", "teacher", 1, "B"),
    Person(9021, "Juf Carmen", "teacher", 2, "A"),
    Person(9022, "Meester Driss", "teacher", 2, "B"),
    Person(9031, "Eva", "begeleider", 2),
    Person(9032, "Fatima", "begeleider", 2),
)
BY_ID = {person.id: person for person in PEOPLE}


@dataclass(frozen=True)
class Pair:
    number: int
    sides: tuple[SideInput, SideInput]


PAIRS = {
    1: Pair(
        1,
        (
            SideInput("De Regenboog", "Kanaalstraat 112, Utrecht", "groep 8", 26),
            SideInput("Het Kompas", None, "groep 7/8", 24),
        ),
    ),
    2: Pair(
        2,
        (
            SideInput("De Vlinder", "Amsterdamsestraatweg 301, Utrecht", "groep 8", 25),
            SideInput("Al Amal", "Marco Polohof 9, Utrecht", "groep 8", 22),
        ),
    ),
}
# What the teachers of the running pair have done in their first days: (side, item, days in).
TICKS = (
    ("A", "booklet_planned", -3),
    ("B", "booklet_planned", -3),
    ("A", "parents_informed", 0),
    ("B", "mixed_teams_made", 3),
)
# The running pair is made on the Thursday before it starts, so its first Monday's messages
# go out on time.
MADE_BEFORE_START = timedelta(days=4)
TICKED_AT = time(15, 30)
# Before the alert about begeleiders who have not checked in (a quarter before the start).
CHECKED_IN_AT = time(8, 15)


class _Member(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def side(self) -> str | None: ...
    @property
    def exchange_id(self) -> int: ...


# -- what the page shows of people ----------------------------------------------------------


async def load_active_exchanges(session: AsyncSession) -> list[Exchange]:
    """The active pairs with their schools, for describing people."""
    rows = await session.scalars(
        select(Exchange)
        .where(Exchange.status == STATUS_ACTIVE)
        .options(selectinload(Exchange.sides).joinedload(ExchangeSide.school))
        .order_by(Exchange.id)
    )
    return list(rows)


def day_phase_keys(programmes: Mapping[str, Programme]) -> list[str]:
    """The keys of every programme's exchange days (phases of kind "day")."""
    return sorted({p.key for programme in programmes.values() for p in programme.day_phases})


def describe(texts: Texts, lang: str, member: _Member, found: Mapping[int, Exchange]) -> str:
    """One line on who a member is: their class and school, or the pair they help."""
    exchange = found.get(member.exchange_id)
    if exchange is None:
        return texts.plain(lang, "sandbox.demo.new")
    if member.role == "teacher" and member.side:
        side = exchanges.side_of(exchange, member.side)
        return texts.plain(
            lang,
            "sandbox.demo.teacher",
            class_name=side.class_name,
            school=side.school.name,
            city=exchange.city,
        )
    return texts.plain(
        lang, "sandbox.demo.begeleider", pair=exchanges.title(exchange), city=exchange.city
    )


# -- when the pairs run ---------------------------------------------------------------------


def _in_break(day: date) -> bool:
    for (m1, d1), (m2, d2) in BREAKS:
        first = date(day.year, m1, d1)
        last = date(day.year, m2, d2)
        if first <= last:
            if first <= day <= last:
                return True
        elif day >= first or day <= last:
            return True
    return False


def allowed_start(
    programme: Programme, monday: date, school_holidays: Sequence[tuple[date, date]]
) -> bool:
    """Whether a pair may start on this Monday: none of its school days falls in a break or
    a school holiday, and none of its exchange days on a public holiday."""
    for offset in range(programme.length_days):
        day = monday + timedelta(days=offset)
        if day.weekday() < 5 and (_in_break(day) or in_periods(day, school_holidays)):
            return False
    return not any(
        is_public_holiday(monday + timedelta(days=phase.offset_days))
        for phase in programme.day_phases
    )


def _first_allowed(
    programme: Programme, monday: date, school_holidays: Sequence[tuple[date, date]]
) -> date:
    """The first Monday from `monday` on that a pair may start (or `monday` if none is near)."""
    for weeks in range(SEARCH_WEEKS):
        candidate = monday + timedelta(weeks=weeks)
        if allowed_start(programme, candidate, school_holidays):
            return candidate
    return monday


def start_dates(
    programme: Programme, today: date, school_holidays: Sequence[tuple[date, date]]
) -> tuple[date, date]:
    """(running, coming): the Monday the running pair started, one or two weeks ago so that
    an exchange day of it is near, and the Monday the coming pair starts, next week or the
    first allowed week after.

    In and just after a break no pair can be running: then the "running" pair (the one with
    agreed dates and begeleiders) starts first after the break and the other a week later,
    so the next exchange day is still one its begeleiders come to.
    """
    this_monday = today - timedelta(days=today.weekday())
    for weeks in (1, 2):
        running = this_monday - timedelta(weeks=weeks)
        if allowed_start(programme, running, school_holidays):
            return running, _first_allowed(
                programme, this_monday + timedelta(weeks=1), school_holidays
            )
    running = _first_allowed(programme, this_monday + timedelta(weeks=1), school_holidays)
    return running, _first_allowed(programme, running + timedelta(weeks=1), school_holidays)


# -- building it ----------------------------------------------------------------------------


async def build(sandbox: Sandbox) -> None:
    """Fill the (empty) sandbox database with the demo, through the running bot."""
    context = sandbox.context
    assert context is not None
    tz = context.settings.tz
    programme = context.programmes[PROGRAMME]
    real_now = datetime.now(UTC)
    async with context.db.read() as session:
        holidays = await outbox.holidays_for(session, REGION)
    running, coming = start_dates(programme, real_now.astimezone(tz).date(), holidays)

    made = datetime.combine(running - MADE_BEFORE_START, WORK_STARTS, tzinfo=tz)
    if made < real_now:
        sandbox.clock.set(made)

    async def later(delta: timedelta) -> None:
        """Let some minutes pass, but never beyond the real time."""
        target = sandbox.clock.now() + delta
        if target < datetime.now(UTC):
            await sandbox.travel(target)

    await sandbox._say(COORDINATOR.id, "/start")
    second = await _make_pair(sandbox, PAIRS[2], running)
    for person in (p for p in PEOPLE if p.pair == 2):
        await later(timedelta(minutes=6))
        await sandbox._say(person.id, f"/start {second.tokens[person.side or '']}")
    await later(timedelta(minutes=40))
    await _agree_dates(sandbox, second.exchange_id)

    # The weeks since, as they went: the teachers tick what they did, the begeleiders check
    # in on the exchange days that are over.
    story: list[tuple[datetime, Callable[[], Awaitable[None]]]] = []
    for side, item, days in TICKS:
        moment = datetime.combine(running + timedelta(days=days), TICKED_AT, tzinfo=tz)
        story.append((moment, partial(_tick, sandbox, second.exchange_id, side, item)))
    for day in await _begeleider_days(sandbox, second.exchange_id):
        for n, person in enumerate(p for p in PEOPLE if p.pair == 2 and p.role == "begeleider"):
            moment = datetime.combine(day, CHECKED_IN_AT, tzinfo=tz) + timedelta(minutes=4 * n)
            story.append((moment, partial(_check_in, sandbox, person.id)))
    for moment, happen in sorted(story, key=lambda step: step[0]):
        if sandbox.clock.now() <= moment < datetime.now(UTC):
            await sandbox.travel(moment)
            await happen()
    await sandbox.travel(max(datetime.now(UTC), sandbox.clock.now()))
    sandbox.clock.back_to_real()

    # The pair still to come, made today.
    first = await _make_pair(sandbox, PAIRS[1], coming)
    for person in (p for p in PEOPLE if p.pair == 1):
        await sandbox._say(person.id, f"/start {first.tokens[person.side or '']}")
    await sandbox.travel(sandbox.clock.now())
    sandbox.clock.back_to_real()


async def _check_in(sandbox: Sandbox, person_id: int) -> None:
    """A begeleider checks in on the morning of the day, and shares where they are."""
    await sandbox._say(person_id, "/checkin")
    await sandbox._share_location(person_id)


async def _begeleider_days(sandbox: Sandbox, exchange_id: int) -> list[date]:
    """The days of the pair that begeleiders come to."""
    context = sandbox.context
    assert context is not None
    async with context.db.read() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        programme = context.programmes[exchange.programme_key]
        return [row.starts_on for _, row in members.begeleider_days(exchange, programme)]


@dataclass(frozen=True)
class _Made:
    exchange_id: int
    tokens: dict[str, str]  # "A", "B" (teachers), "" (begeleiders)


async def _make_pair(sandbox: Sandbox, pair: Pair, start: date) -> _Made:
    """The coordinator's new pair, and the invite links /uitnodigen gives for it."""
    context = sandbox.context
    assert context is not None
    data = ExchangeInput(
        programme_key=PROGRAMME,
        city=CITY,
        start_date=start,
        sides=list(pair.sides),
        region=REGION,
    )
    async with context.db.write() as session:
        exchange = await exchanges.create_exchange(
            session,
            data,
            context.programmes[PROGRAMME],
            created_by=COORDINATOR.id,
            now=sandbox.clock.now(),
        )
        exchange_id = exchange.id
    before = sandbox.tg.last_message_id(COORDINATOR.id)
    await sandbox._say(COORDINATOR.id, f"/uitnodigen {exchange_id}")
    tokens: list[str] = []
    for message in sandbox.tg.messages_since(COORDINATOR.id, before):
        tokens += INVITE_TOKEN.findall(message.text or "")
    if len(tokens) != 3:
        raise RuntimeError(f"/uitnodigen gave {len(tokens)} links, not 3")
    return _Made(exchange_id, {"A": tokens[0], "B": tokens[1], "": tokens[2]})


async def _agree_dates(sandbox: Sandbox, exchange_id: int) -> None:
    """The coordinator fixes every exchange day: the template's day where it may be, else
    the nearest day that may."""
    context = sandbox.context
    assert context is not None
    today = context.today()
    for key in [p.key for p in context.programmes[PROGRAMME].day_phases]:
        async with context.db.write() as session:
            coordinator = await session.get(User, COORDINATOR.id)
            exchange = await exchanges.load_exchange(session, exchange_id)
            assert coordinator is not None and exchange is not None
            programme = context.programmes[exchange.programme_key]
            planned = date_agreement.phase_row(exchange, key)
            allowed = date_agreement.choices(
                exchange,
                programme,
                key,
                today=today,
                school_holidays=await outbox.holidays_for(session, exchange.region),
            )
            if not allowed:
                continue
            day = min(allowed, key=lambda d: (abs((d - planned.starts_on).days), d))
            await date_agreement.set_date(
                session,
                coordinator,
                exchange_id,
                key,
                day,
                planned.start_time or WORK_STARTS,
                programmes=context.programmes,
                rules=context.rules,
                today=today,
                now=sandbox.clock.now(),
            )


async def _tick(sandbox: Sandbox, exchange_id: int, side: str, item: str) -> None:
    """A teacher of `side` ticks a checklist item."""
    context = sandbox.context
    assert context is not None
    teacher = next(p for p in PEOPLE if p.role == "teacher" and p.pair == 2 and p.side == side)
    async with context.db.write() as session:
        user = await session.get(User, teacher.id)
        assert user is not None
        await checklists.toggle_for(
            session,
            user,
            exchange_id,
            item,
            context.programmes,
            now=sandbox.clock.now(),
            want=True,
        )
