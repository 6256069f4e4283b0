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
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

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
    ExchangeSide,
    Headcount,
    Incident,
    Membership,
    OutboxMessage,
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
    """What `user` may export: the exchanges they run (active and archived) and their own
    broadcasts; with `everything`, every exchange and broadcast. auth.NotAllowed for anyone
    but a coordinator."""
    await check(session, user)
    ids = None if everything else exchanges.run_by(user)
    made_by = None if everything else user.id
    return await _gather(
        session, programmes, ids, made_by, now=now, today=today, retention_days=retention_days
    )


async def everything(
    session: AsyncSession,
    programmes: Mapping[str, Programme],
    *,
    now: datetime,
    today: date,
    retention_days: int,
) -> Export:
    """Every exchange and broadcast, for the command line (whoever runs it owns the data)."""
    return await _gather(
        session, programmes, None, None, now=now, today=today, retention_days=retention_days
    )


# -- gathering ------------------------------------------------------------------------------


def _words(programme: Programme | None, phase_key: str) -> Words:
    if programme is None:
        return phase_key
    try:
        return programme.phase(phase_key).name
    except KeyError:
        return phase_key


def _within(column: Any, ids: Select[Any] | None) -> Any:
    return true() if ids is None else column.in_(ids)


async def _gather(
    session: AsyncSession,
    programmes: Mapping[str, Programme],
    ids: Select[Any] | None,
    made_by: int | None,
    *,
    now: datetime,
    today: date,
    retention_days: int,
) -> Export:
    found = list(
        await session.scalars(
            select(Exchange)
            .where(_within(Exchange.id, ids))
            .options(
                selectinload(Exchange.sides).joinedload(ExchangeSide.school),
                selectinload(Exchange.phases),
                selectinload(Exchange.memberships).joinedload(Membership.user),
            )
            .order_by(Exchange.id)
        )
    )
    by_id = {e.id: e for e in found}
    # Free texts of an exchange are gone once its last day is longer ago than the retention.
    expired = {
        e.id
        for e in found
        if e.phases and exchange_ended(max(p.ends_on for p in e.phases), today, retention_days)
    }
    export = Export(generated_at=now, everything=ids is None)
    for exchange in found:
        programme = programmes.get(exchange.programme_key)
        export.exchanges.append(_exchange_row(exchange, programme))
        export.dates.extend(_date_rows(exchange, programme))

    ticks = await _ticks(session, ids)
    for exchange in found:
        programme = programmes.get(exchange.programme_key)
        if programme is not None:
            _checklist_rows(export, exchange, programme, ticks.get(exchange.id, {}))

    recorder = aliased(User)
    for headcount, name in await session.execute(
        select(Headcount, recorder.display_name)
        .outerjoin(recorder, recorder.id == Headcount.recorded_by)
        .where(_within(Headcount.exchange_id, ids))
        .order_by(Headcount.exchange_id, Headcount.day, Headcount.recorded_at, Headcount.id)
    ):
        export.headcounts.append(
            HeadcountRow(
                headcount.exchange_id,
                headcount.day,
                headcount.side,
                headcount.moment,
                headcount.count,
                headcount.previous_count,
                headcount.previous_moment,
                headcount.recorded_at,
                name,
            )
        )

    for checkin, name in await session.execute(
        select(CheckIn, User.display_name)
        .join(User, User.id == CheckIn.user_id)
        .where(_within(CheckIn.exchange_id, ids))
        .order_by(CheckIn.exchange_id, CheckIn.day, CheckIn.checked_in_at, CheckIn.id)
    ):
        purged = checkin.exchange_id in expired
        programme = programmes.get(by_id[checkin.exchange_id].programme_key)
        export.checkins.append(
            CheckInRow(
                checkin.exchange_id,
                checkin.day,
                _words(programme, checkin.phase_key),
                name,
                checkin.checked_in_at,
                checkin.checked_out_at,
                checkin.rating,
                checkin.tension,
                None if purged else checkin.tension_note,
                None if purged else checkin.remarks,
                purged,
            )
        )

    reporter = aliased(User)
    for incident, name in await session.execute(
        select(Incident, reporter.display_name)
        .outerjoin(reporter, reporter.id == Incident.reported_by)
        .where(_within(Incident.exchange_id, ids))
        .order_by(Incident.exchange_id, Incident.created_at, Incident.id)
    ):
        purged = incident.purged_at is not None or incident.exchange_id in expired
        export.incidents.append(
            IncidentRow(
                incident.id,
                incident.exchange_id,
                incident.category,
                incident.severity,
                incident.status,
                incident.team_number,
                name,
                incident.created_at,
                incident.acknowledged_at,
                incident.resolved_at,
                None if purged else incident.description,
                not purged and incident.photo_file_id is not None,
                purged,
            )
        )

    export.broadcasts.extend(await _broadcasts(session, programmes, made_by))
    return export


def _exchange_row(exchange: Exchange, programme: Programme | None) -> ExchangeRow:
    a = exchanges.side_of(exchange, "A")
    b = exchanges.side_of(exchange, "B")
    return ExchangeRow(
        id=exchange.id,
        title=exchanges.title(exchange),
        city=exchange.city,
        region=exchange.region,
        programme=programme.name if programme is not None else exchange.programme_key,
        status=exchange.status,
        school_a=a.school.name,
        class_a=a.class_name,
        size_a=a.class_size,
        school_b=b.school.name,
        class_b=b.class_name,
        size_b=b.class_size,
        start_date=exchange.start_date,
        created_at=exchange.created_at,
    )


def _date_rows(exchange: Exchange, programme: Programme | None) -> Iterable[DateRow]:
    for row in exchange.phases:
        kind = "day"
        if programme is not None:
            with contextlib.suppress(KeyError):
                kind = programme.phase(row.phase_key).kind
        host_school = (
            exchanges.side_of(exchange, row.host).school.name if row.host in ("A", "B") else None
        )
        yield DateRow(
            exchange.id,
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


async def _ticks(
    session: AsyncSession, ids: Select[Any] | None
) -> dict[int, dict[tuple[str, str], TickInfo]]:
    """Every tick of the exchanges, with who set it and when, in one query."""
    out: dict[int, dict[tuple[str, str], TickInfo]] = defaultdict(dict)
    rows = await session.execute(
        select(
            ChecklistTick.exchange_id,
            ChecklistTick.holder,
            ChecklistTick.item_key,
            ChecklistTick.done_at,
            User.display_name,
        )
        .outerjoin(User, User.id == ChecklistTick.done_by)
        .where(_within(ChecklistTick.exchange_id, ids))
    )
    for exchange_id, holder, key, done_at, name in rows:
        out[exchange_id][(holder, key)] = (name or GONE, done_at)
    return out


def _checklist_rows(
    export: Export,
    exchange: Exchange,
    programme: Programme,
    ticks: Mapping[tuple[str, str], TickInfo],
) -> None:
    """The holders of the exchange as `checklists.progress` shows them to coordinators: the
    pair's items once, each class's, and each member's own items."""
    names = {key: who for key, (who, _) in ticks.items()}
    phases = list(exchange.phases)
    groups: list[tuple[str, str | None, str | None, str | None, list[Any]]] = []
    pair = [
        e
        for role in (ROLE_TEACHER, ROLE_BEGELEIDER)
        for e in entries(programme, phases, role, None, names)
        if e.item.scope == "pair"
    ]
    groups.append((PAIR, None, None, None, pair))
    for side in ("A", "B"):
        found = entries(programme, phases, ROLE_TEACHER, side, names)
        groups.append(("class", side, None, None, [e for e in found if e.item.scope == "class"]))
    members = sorted(
        (m for m in exchange.memberships if not m.user.is_group),
        key=lambda m: (m.role != ROLE_TEACHER, m.side or "", m.id),
    )
    for m in members:
        found = entries(programme, phases, m.role, m.side, names, user_id=m.user_id)
        own = [e for e in found if e.item.scope == "person"]
        groups.append(("person", m.side, m.user.display_name, m.role, own))
    for group, held_side, holder_name, role, held in groups:
        if not held:
            continue
        export.checklists.append(
            ChecklistProgressRow(
                exchange.id,
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
                    exchange.id,
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


async def _broadcasts(
    session: AsyncSession, programmes: Mapping[str, Programme], made_by: int | None
) -> list[BroadcastRow]:
    """Broadcasts with their delivery counts (from their outbox rows) and read counts."""
    author = aliased(User)
    mine = true() if made_by is None else Broadcast.created_by == made_by
    found = list(
        await session.execute(
            select(Broadcast, author.display_name)
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
    phase_names = _phase_names(programmes)
    out = []
    for broadcast, name in found:
        counted = states.get(broadcast.id, {})
        audience = dict(broadcast.audience or {})
        phase = None
        if audience.get("kind") == "phase":
            key = str(audience.get("value"))
            phase = phase_names.get(key, key)
        out.append(
            BroadcastRow(
                id=broadcast.id,
                created_at=broadcast.created_at,
                created_by=name,
                text=_beginning(broadcast.text),
                audience=audience,
                audience_phase=phase,
                media_kind=broadcast.media_kind,
                send_at=broadcast.send_at,
                status=broadcast.status,
                recipients=broadcast.recipients,
                delivered=counted.get(OUTBOX_SENT, 0),
                blocked=counted.get(OUTBOX_BLOCKED, 0),
                failed=counted.get(OUTBOX_FAILED, 0),
                waiting=counted.get(OUTBOX_PENDING, 0) + counted.get(OUTBOX_SENDING, 0),
                read=reads.get(broadcast.id, 0) if broadcast.read_button else None,
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
