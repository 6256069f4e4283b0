"""Everything a coordinator may take out of the bot: the exchanges and all that happened in them.

`for_coordinator` gathers the exchanges a coordinator runs (or, asked for, every exchange);
`everything` gathers all of them for the command line. Both use the same fixed number of
queries however many exchanges there are, and return plain rows: the workbook, the CSV files
and the season report's charts are made from them (bot/reports/).

Free texts that may identify children (incident descriptions, tension notes and remarks at
check-out) are left out once the retention period of their exchange has passed, whether or not
the nightly purge (bot/jobs/retention.py) has already blanked them: an export never holds what
retention is meant to remove. The rows say so (`purged`), so the reader sees that a detail is
gone rather than that there never was one.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, cast

from sqlalchemy import Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Executable

from bot.domain.permissions import Action
from bot.domain.programme import Programme, Text
from bot.domain.timeline import exchange_ended
from bot.services import auth, exchanges
from bot.services.checklists import GONE, PAIR, entries
from db.models import (
    OUTBOX_BLOCKED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    Broadcast,
    BroadcastRead,
    CheckIn,
    ChecklistTick,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    Headcount,
    Incident,
    Membership,
    OutboxMessage,
    School,
    User,
)

# A programme's own words (a phase's name, a checklist item) in both languages, or the bare
# key when the template that had it is gone.
Words = Text | str
# How much of a broadcast's text the export repeats: enough to recognise it.
BROADCAST_TEXT_LENGTH = 100


@dataclass(frozen=True)
class ExchangeRow:
    id: int
    title: str  # "De Avonturijn – De Odyssee"
    city: str
    region: str | None
    programme: Words
    status: str  # "active" | "archived"
    school_a: str
    class_a: str
    size_a: int
    school_b: str
    class_b: str
    size_b: int
    start_date: date
    created_at: datetime

    def size(self, side: str) -> int:
        return self.size_a if side == "A" else self.size_b

    def school(self, side: str) -> str:
        return self.school_a if side == "A" else self.school_b


@dataclass(frozen=True)
class DateRow:
    exchange_id: int
    phase_key: str
    phase: Words
    kind: str  # "week" | "day"
    starts_on: date
    ends_on: date
    start_time: time | None
    host: str  # "A" | "B" | "both" | "online"
    host_school: str | None  # the hosting school, for "A" and "B"
    agreed: bool


@dataclass(frozen=True)
class ChecklistProgressRow:
    """How far one holder is: the pair, a class (`side`), or one person (`name`, `role`)."""

    exchange_id: int
    group: str  # "pair" | "class" | "person"
    side: str | None
    name: str | None
    role: str | None
    done: int
    total: int


@dataclass(frozen=True)
class ChecklistItemRow:
    """One checklist item of one holder: its deadline, and who ticked it when."""

    exchange_id: int
    group: str
    side: str | None
    name: str | None
    role: str | None
    phase: Text | None  # what tells items of different days apart ("Dag 1")
    item: Text
    deadline: date
    done_by: str | None  # "?" when whoever ticked it is gone
    done_at: datetime | None


@dataclass(frozen=True)
class HeadcountRow:
    exchange_id: int
    day: date
    side: str
    moment: str
    count: int
    previous_count: int | None
    previous_moment: str | None
    recorded_at: datetime
    recorded_by: str | None


@dataclass(frozen=True)
class CheckInRow:
    exchange_id: int
    day: date
    phase: Words
    name: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    rating: int | None
    tension: bool | None
    tension_note: str | None
    remarks: str | None
    purged: bool  # the retention period is over: free texts are not exported


@dataclass(frozen=True)
class IncidentRow:
    id: int
    exchange_id: int
    category: str
    severity: str
    status: str
    team: int | None
    reported_by: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    description: str | None
    photo: bool
    purged: bool


@dataclass(frozen=True)
class BroadcastRow:
    id: int
    created_at: datetime
    created_by: str | None
    text: str  # its beginning (BROADCAST_TEXT_LENGTH characters)
    audience: Mapping[str, Any]
    audience_phase: Words | None  # the phase's name for an audience by phase
    media_kind: str | None
    send_at: datetime
    status: str
    recipients: int
    delivered: int
    blocked: int
    failed: int
    waiting: int
    read: int | None  # None when it had no "Gelezen" button


@dataclass(frozen=True)
class Export:
    generated_at: datetime
    everything: bool  # every exchange, not only the ones the coordinator runs
    exchanges: list[ExchangeRow] = field(default_factory=list)
    dates: list[DateRow] = field(default_factory=list)
    checklists: list[ChecklistProgressRow] = field(default_factory=list)
    checklist_items: list[ChecklistItemRow] = field(default_factory=list)
    headcounts: list[HeadcountRow] = field(default_factory=list)
    checkins: list[CheckInRow] = field(default_factory=list)
    incidents: list[IncidentRow] = field(default_factory=list)
    broadcasts: list[BroadcastRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.exchanges and not self.broadcasts


# -- which exchanges ------------------------------------------------------------------------


async def check(session: AsyncSession, user: User) -> None:
    """auth.NotAllowed unless the user may export (a coordinator)."""
    await auth.require(session, user, Action.EXPORT)


async def read_for_coordinator(
    session: AsyncSession,
    user: User,
    *,
    now: datetime,
    today: date,
    retention_days: int,
    everything: bool = False,
) -> Gathered:
    """The rows of what `user` may export: the exchanges they run (active and archived) and
    their own broadcasts; with `everything`, every exchange and broadcast. auth.NotAllowed for
    anyone but a coordinator. `assemble` makes the export of them."""
    await check(session, user)
    ids = None if everything else exchanges.run_by(user)
    made_by = None if everything else user.id
    return await read(session, ids, made_by, now=now, today=today, retention_days=retention_days)


async def for_coordinator(
    session: AsyncSession,
    user: User,
    programmes: Mapping[str, Programme],
    *,
    now: datetime,
    today: date,
    retention_days: int,
    everything: bool = False,
) -> Export:
    """What `user` may export (see `read_for_coordinator`), assembled."""
    gathered = await read_for_coordinator(
        session, user, now=now, today=today, retention_days=retention_days, everything=everything
    )
    return assemble(gathered, programmes)


async def everything(
    session: AsyncSession,
    programmes: Mapping[str, Programme],
    *,
    now: datetime,
    today: date,
    retention_days: int,
) -> Export:
    """Every exchange and broadcast, for the command line (whoever runs it owns the data)."""
    gathered = await read(session, None, None, now=now, today=today, retention_days=retention_days)
    return assemble(gathered, programmes)


# -- reading --------------------------------------------------------------------------------
#
# The database is read in plain rows (no ORM objects: loading a thousand exchanges with their
# sides, phases and members as objects costs seconds), in a fixed number of queries. What is
# made of them (`assemble`) needs no database, so it can run anywhere: the bot hands it to a
# worker process together with the making of the file.


@dataclass(frozen=True)
class PhaseDates:
    """One phase of an exchange as planned; what `checklists.entries` reads of a phase row."""

    exchange_id: int
    phase_key: str
    starts_on: date
    ends_on: date
    start_time: time | None
    host: str
    agreed: bool


@dataclass(frozen=True)
class Member:
    exchange_id: int
    id: int
    user_id: int
    role: str
    side: str | None
    name: str
    is_group: bool


@dataclass(frozen=True)
class Gathered:
    """The rows an export is made of, as read: small, and picklable to a worker process."""

    generated_at: datetime
    everything: bool
    today: date
    retention_days: int
    # id, city, region, programme key, status, start date, created at
    exchanges: list[tuple[int, str, str | None, str, str, date, datetime]]
    # exchange id, side, school name, class name, class size
    sides: list[tuple[int, str, str, str, int]]
    phases: list[PhaseDates]
    members: list[Member]
    ticks: list[tuple[int, str, str, datetime, str | None]]
    headcounts: list[HeadcountRow]
    # CheckInRow's fields but the phase key for its words, and the free texts as stored
    checkins: list[tuple[Any, ...]]
    # IncidentRow's fields, the free text as stored and the purge moment
    incidents: list[tuple[Any, ...]]
    broadcasts: list[BroadcastRow]

    @property
    def empty(self) -> bool:
        return not self.exchanges and not self.broadcasts


def _words(programme: Programme | None, phase_key: str) -> Words:
    if programme is None:
        return phase_key
    try:
        return programme.phase(phase_key).name
    except KeyError:
        return phase_key


def _within(column: Any, ids: Select[Any] | None) -> Any:
    return true() if ids is None else column.in_(ids)


async def read(
    session: AsyncSession,
    ids: Select[Any] | None,
    made_by: int | None,
    *,
    now: datetime,
    today: date,
    retention_days: int,
) -> Gathered:
    """The rows of the exchanges `ids` (every one for None) and of the broadcasts `made_by`
    made (every one for None)."""

    # On the connection: rows of columns need nothing of the ORM's result handling.
    connection = await session.connection()

    async def rows(statement: Executable) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await connection.execute(statement)]

    found = await rows(
        select(
            Exchange.id,
            Exchange.city,
            Exchange.region,
            Exchange.programme_key,
            Exchange.status,
            Exchange.start_date,
            Exchange.created_at,
        )
        .where(_within(Exchange.id, ids))
        .order_by(Exchange.id)
    )
    sides = await rows(
        select(
            ExchangeSide.exchange_id,
            ExchangeSide.side,
            School.name,
            ExchangeSide.class_name,
            ExchangeSide.class_size,
        )
        .join(School, School.id == ExchangeSide.school_id)
        .where(_within(ExchangeSide.exchange_id, ids))
    )
    phases = [
        PhaseDates(*row)
        for row in await rows(
            select(
                ExchangePhase.exchange_id,
                ExchangePhase.phase_key,
                ExchangePhase.starts_on,
                ExchangePhase.ends_on,
                ExchangePhase.start_time,
                ExchangePhase.host,
                ExchangePhase.agreed,
            )
            .where(_within(ExchangePhase.exchange_id, ids))
            .order_by(ExchangePhase.exchange_id, ExchangePhase.starts_on, ExchangePhase.id)
        )
    ]
    members = [
        Member(*row)
        for row in await rows(
            select(
                Membership.exchange_id,
                Membership.id,
                Membership.user_id,
                Membership.role,
                Membership.side,
                User.display_name,
                User.is_group,
            )
            .join(User, User.id == Membership.user_id)
            .where(_within(Membership.exchange_id, ids))
            .order_by(Membership.exchange_id, Membership.id)
        )
    ]
    ticker = aliased(User)
    ticks = await rows(
        select(
            ChecklistTick.exchange_id,
            ChecklistTick.holder,
            ChecklistTick.item_key,
            ChecklistTick.done_at,
            ticker.display_name,
        )
        .outerjoin(ticker, ticker.id == ChecklistTick.done_by)
        .where(_within(ChecklistTick.exchange_id, ids))
    )
    recorder = aliased(User)
    headcounts = [
        HeadcountRow(*row)
        for row in await rows(
            select(
                Headcount.exchange_id,
                Headcount.day,
                Headcount.side,
                Headcount.moment,
                Headcount.count,
                Headcount.previous_count,
                Headcount.previous_moment,
                Headcount.recorded_at,
                recorder.display_name,
            )
            .outerjoin(recorder, recorder.id == Headcount.recorded_by)
            .where(_within(Headcount.exchange_id, ids))
            .order_by(Headcount.exchange_id, Headcount.day, Headcount.recorded_at, Headcount.id)
        )
    ]
    checkins = await rows(
        select(
            CheckIn.exchange_id,
            CheckIn.day,
            CheckIn.phase_key,
            User.display_name,
            CheckIn.checked_in_at,
            CheckIn.checked_out_at,
            CheckIn.rating,
            CheckIn.tension,
            CheckIn.tension_note,
            CheckIn.remarks,
        )
        .join(User, User.id == CheckIn.user_id)
        .where(_within(CheckIn.exchange_id, ids))
        .order_by(CheckIn.exchange_id, CheckIn.day, CheckIn.checked_in_at, CheckIn.id)
    )
    reporter = aliased(User)
    incidents = await rows(
        select(
            Incident.id,
            Incident.exchange_id,
            Incident.category,
            Incident.severity,
            Incident.status,
            Incident.team_number,
            reporter.display_name,
            Incident.created_at,
            Incident.acknowledged_at,
            Incident.resolved_at,
            Incident.description,
            Incident.photo_file_id.is_not(None),
            Incident.purged_at,
        )
        .outerjoin(reporter, reporter.id == Incident.reported_by)
        .where(_within(Incident.exchange_id, ids))
        .order_by(Incident.exchange_id, Incident.created_at, Incident.id)
    )
    return Gathered(
        generated_at=now,
        everything=ids is None,
        today=today,
        retention_days=retention_days,
        exchanges=found,
        sides=sides,
        phases=phases,
        members=members,
        ticks=ticks,
        headcounts=headcounts,
        checkins=checkins,
        incidents=incidents,
        broadcasts=await _broadcasts(session, made_by),
    )


# -- assembling -----------------------------------------------------------------------------


def assemble(gathered: Gathered, programmes: Mapping[str, Programme]) -> Export:
    """The export of the rows: the programmes' words, the checklists as coordinators see
    them, free texts left out once retention is over. No database: pure work on the rows."""
    sides: dict[int, dict[str, tuple[str, str, int]]] = defaultdict(dict)
    for exchange_id, side, school, class_name, class_size in gathered.sides:
        sides[exchange_id][side] = (school, class_name, class_size)
    phases: dict[int, list[PhaseDates]] = defaultdict(list)
    for phase in gathered.phases:
        phases[phase.exchange_id].append(phase)
    members: dict[int, list[Member]] = defaultdict(list)
    for member in gathered.members:
        members[member.exchange_id].append(member)
    ticks: dict[int, dict[tuple[str, str], TickInfo]] = defaultdict(dict)
    for exchange_id, holder, key, done_at, name in gathered.ticks:
        ticks[exchange_id][(holder, key)] = (name or GONE, done_at)

    export = Export(generated_at=gathered.generated_at, everything=gathered.everything)
    programme_of: dict[int, Programme | None] = {}
    expired: set[int] = set()
    for exchange_id, city, region, key, status, start_date, created_at in gathered.exchanges:
        programme = programmes.get(key)
        programme_of[exchange_id] = programme
        own = phases.get(exchange_id, [])
        # Free texts of an exchange are gone once its last day is longer ago than the
        # retention.
        if own and exchange_ended(
            max(p.ends_on for p in own), gathered.today, gathered.retention_days
        ):
            expired.add(exchange_id)
        (school_a, class_a, size_a), (school_b, class_b, size_b) = (
            sides[exchange_id]["A"],
            sides[exchange_id]["B"],
        )
        export.exchanges.append(
            ExchangeRow(
                id=exchange_id,
                title=" – ".join(sides[exchange_id][s][0] for s in sorted(sides[exchange_id])),
                city=city,
                region=region,
                programme=programme.name if programme is not None else key,
                status=status,
                school_a=school_a,
                class_a=class_a,
                size_a=size_a,
                school_b=school_b,
                class_b=class_b,
                size_b=size_b,
                start_date=start_date,
                created_at=created_at,
            )
        )
        export.dates.extend(_date_rows(own, sides[exchange_id], programme))

    for row in export.exchanges:
        programme = programme_of[row.id]
        if programme is not None:
            _checklist_rows(
                export,
                row.id,
                programme,
                phases.get(row.id, []),
                members.get(row.id, []),
                ticks.get(row.id, {}),
            )

    export.headcounts.extend(gathered.headcounts)

    for (
        exchange_id,
        day,
        phase_key,
        name,
        checked_in_at,
        checked_out_at,
        rating,
        tension,
        tension_note,
        remarks,
    ) in gathered.checkins:
        purged = exchange_id in expired
        export.checkins.append(
            CheckInRow(
                exchange_id,
                day,
                _words(programme_of.get(exchange_id), phase_key),
                name,
                checked_in_at,
                checked_out_at,
                rating,
                tension,
                None if purged else tension_note,
                None if purged else remarks,
                purged,
            )
        )

    for (
        incident_id,
        exchange_id,
        category,
        severity,
        status,
        team,
        name,
        created_at,
        acknowledged_at,
        resolved_at,
        description,
        photo,
        purged_at,
    ) in gathered.incidents:
        purged = purged_at is not None or exchange_id in expired
        export.incidents.append(
            IncidentRow(
                incident_id,
                exchange_id,
                category,
                severity,
                status,
                team,
                name,
                created_at,
                acknowledged_at,
                resolved_at,
                None if purged else description,
                not purged and bool(photo),
                purged,
            )
        )

    phase_names = _phase_names(programmes)
    for broadcast in gathered.broadcasts:
        if broadcast.audience.get("kind") == "phase":
            key = str(broadcast.audience.get("value"))
            broadcast = replace(broadcast, audience_phase=phase_names.get(key, key))
        export.broadcasts.append(broadcast)
    return export


def _date_rows(
    phases: Iterable[PhaseDates],
    sides: Mapping[str, tuple[str, str, int]],
    programme: Programme | None,
) -> Iterable[DateRow]:
    for row in phases:
        kind = "day"
        if programme is not None:
            with contextlib.suppress(KeyError):
                kind = programme.phase(row.phase_key).kind
        host_school = sides[row.host][0] if row.host in ("A", "B") else None
        yield DateRow(
            row.exchange_id,
            row.phase_key,
            _words(programme, row.phase_key),
            kind,
            row.starts_on,
            row.ends_on,
            row.start_time,
            row.host,
            host_school,
            row.agreed,
        )


TickInfo = tuple[str, datetime]  # who ticked it, when


def _checklist_rows(
    export: Export,
    exchange_id: int,
    programme: Programme,
    phases: list[PhaseDates],
    members: Iterable[Member],
    ticks: Mapping[tuple[str, str], TickInfo],
) -> None:
    """The holders of the exchange as `checklists.progress` shows them to coordinators: the
    pair's items once, each class's, and each member's own items."""
    names = {key: who for key, (who, _) in ticks.items()}
    # `entries` reads a phase's key, dates and host, which these rows have as the table's do.
    rows = cast(list[ExchangePhase], phases)
    groups: list[tuple[str, str | None, str | None, str | None, list[Any]]] = []
    pair = [
        e
        for role in (ROLE_TEACHER, ROLE_BEGELEIDER)
        for e in entries(programme, rows, role, None, names)
        if e.item.scope == "pair"
    ]
    groups.append((PAIR, None, None, None, pair))
    for side in ("A", "B"):
        found = entries(programme, rows, ROLE_TEACHER, side, names)
        groups.append(("class", side, None, None, [e for e in found if e.item.scope == "class"]))
    people = sorted(
        (m for m in members if not m.is_group),
        key=lambda m: (m.role != ROLE_TEACHER, m.side or "", m.id),
    )
    for m in people:
        found = entries(programme, rows, m.role, m.side, names, user_id=m.user_id)
        own = [e for e in found if e.item.scope == "person"]
        groups.append(("person", m.side, m.name, m.role, own))
    for group, held_side, holder_name, role, held in groups:
        if not held:
            continue
        export.checklists.append(
            ChecklistProgressRow(
                exchange_id,
                group,
                held_side,
                holder_name,
                role,
                sum(e.done for e in held),
                len(held),
            )
        )
        for e in held:
            tick = ticks.get((e.holder, e.item.key))
            export.checklist_items.append(
                ChecklistItemRow(
                    exchange_id,
                    group,
                    held_side,
                    holder_name,
                    role,
                    e.phase.item_label,
                    e.item.text,
                    e.deadline,
                    tick[0] if tick else None,
                    tick[1] if tick else None,
                )
            )


def _phase_names(programmes: Mapping[str, Programme]) -> dict[str, Text]:
    names: dict[str, Text] = {}
    for programme in programmes.values():
        for phase in programme.phases:
            names.setdefault(phase.key, phase.name)
    return names


async def _broadcasts(session: AsyncSession, made_by: int | None) -> list[BroadcastRow]:
    """Broadcasts with their delivery counts (from their outbox rows) and read counts; the
    name of a phase they were sent to is filled in by `assemble`."""
    author = aliased(User)
    mine = true() if made_by is None else Broadcast.created_by == made_by
    found = list(
        await session.execute(
            select(
                Broadcast.id,
                Broadcast.created_at,
                author.display_name,
                Broadcast.text,
                Broadcast.audience,
                Broadcast.media_kind,
                Broadcast.send_at,
                Broadcast.status,
                Broadcast.recipients,
                Broadcast.read_button,
            )
            .outerjoin(author, author.id == Broadcast.created_by)
            .where(mine)
            .order_by(Broadcast.send_at, Broadcast.id)
        )
    )
    if not found:
        return []
    chosen = select(Broadcast.id).where(mine)
    states: dict[int, dict[str, int]] = defaultdict(dict)
    for broadcast_id, status, number in await session.execute(
        select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id.in_(chosen))
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)
    ):
        if broadcast_id is not None:
            states[broadcast_id][status] = number
    reads: dict[int, int] = {
        broadcast_id: number
        for broadcast_id, number in await session.execute(
            select(BroadcastRead.broadcast_id, func.count())
            .where(BroadcastRead.broadcast_id.in_(chosen))
            .group_by(BroadcastRead.broadcast_id)
        )
    }
    out = []
    for (
        broadcast_id,
        created_at,
        name,
        text,
        audience,
        media_kind,
        send_at,
        status,
        recipients,
        read_button,
    ) in found:
        counted = states.get(broadcast_id, {})
        out.append(
            BroadcastRow(
                id=broadcast_id,
                created_at=created_at,
                created_by=name,
                text=_beginning(text),
                audience=dict(audience or {}),
                audience_phase=None,
                media_kind=media_kind,
                send_at=send_at,
                status=status,
                recipients=recipients,
                delivered=counted.get(OUTBOX_SENT, 0),
                blocked=counted.get(OUTBOX_BLOCKED, 0),
                failed=counted.get(OUTBOX_FAILED, 0),
                waiting=counted.get(OUTBOX_PENDING, 0) + counted.get(OUTBOX_SENDING, 0),
                read=reads.get(broadcast_id, 0) if read_button else None,
            )
        )
    return out


def _beginning(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= BROADCAST_TEXT_LENGTH:
        return flat
    return flat[: BROADCAST_TEXT_LENGTH - 1].rstrip() + "…"


# -- what the season report shows ------------------------------------------------------------


@dataclass(frozen=True)
class DayAttendance:
    """Pupils present on one exchange day (both classes, as first counted that day) against
    the size of the classes counted."""

    exchange_id: int
    title: str
    day: date
    phase: Words | None
    present: int
    class_size: int


# The count that says who came: the one at arrival, else the first of the day.
_ARRIVAL = "arrival"


def attendance(export: Export) -> list[DayAttendance]:
    """Per exchange day with counts: pupils present against class size."""
    by_id = {e.id: e for e in export.exchanges}
    phases = {(d.exchange_id, d.starts_on): d.phase for d in export.dates if d.kind == "day"}
    first: dict[tuple[int, date, str], HeadcountRow] = {}
    for row in export.headcounts:  # in order of recording
        key = (row.exchange_id, row.day, row.side)
        if key not in first or (row.moment == _ARRIVAL and first[key].moment != _ARRIVAL):
            first[key] = row
    days: dict[tuple[int, date], list[HeadcountRow]] = defaultdict(list)
    for (exchange_id, day, _side), row in sorted(first.items()):
        days[(exchange_id, day)].append(row)
    out = []
    for (exchange_id, day), rows in sorted(days.items()):
        exchange = by_id.get(exchange_id)
        if exchange is None:
            continue
        out.append(
            DayAttendance(
                exchange_id,
                exchange.title,
                day,
                phases.get((exchange_id, day)),
                sum(r.count for r in rows),
                sum(exchange.size(r.side) for r in rows),
            )
        )
    return out


@dataclass(frozen=True)
class Completion:
    exchange_id: int
    title: str
    done: int
    total: int


def completion(export: Export) -> list[Completion]:
    """Checklist items done of all items, per exchange (every holder together)."""
    done: dict[int, int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    for row in export.checklists:
        done[row.exchange_id] += row.done
        total[row.exchange_id] += row.total
    return [
        Completion(e.id, e.title, done[e.id], total[e.id])
        for e in export.exchanges
        if total.get(e.id)
    ]


def incident_counts(export: Export) -> dict[tuple[str, str], int]:
    """Incidents per (category, severity)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in export.incidents:
        counts[(row.category, row.severity)] += 1
    return dict(counts)


def ratings(export: Export) -> dict[tuple[int, bool], int]:
    """Evaluations per (rating, tension reported)."""
    counts: dict[tuple[int, bool], int] = defaultdict(int)
    for row in export.checkins:
        if row.rating is not None:
            counts[(row.rating, bool(row.tension))] += 1
    return dict(counts)
