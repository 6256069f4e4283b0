"""/overzicht: every pair a coordinator runs, with its risk flags, and one pair in detail.

Read-only. However many pairs there are, `pairs` runs the same handful of queries: the
exchanges with their sides, phases and members (selectinload), then the ticks, open
incidents, recent check-outs and coming absences of all of them at once, grouped here.
The flags themselves are decided in bot/domain/risks.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import LoaderOption as _AbstractLoad

from bot.domain import risks
from bot.domain.permissions import Action
from bot.domain.programme import Phase, Programme, Text
from bot.domain.timeline import AMSTERDAM, due_date, programme_start
from bot.services import auth
from bot.services.checklists import PAIR, holder_for
from bot.services.incidents import OPEN_STATES
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    STATUS_ACTIVE,
    Absence,
    CheckIn,
    ChecklistTick,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    GroupLink,
    Headcount,
    Incident,
    Membership,
    User,
)

SCOPES = ("mine", "all")
# The last school day of week 1: Friday.
WEEK1_LAST_DAY = 4

_LOAD = (
    selectinload(Exchange.sides).joinedload(ExchangeSide.school),
    selectinload(Exchange.phases),
    selectinload(Exchange.memberships).joinedload(Membership.user),
)
# The list needs of each pair as objects only what names it; its phases and members are read
# as plain rows (_PhaseRow, _MemberRow), which a thousand pairs' worth are far quicker to build.
_NAMES = (selectinload(Exchange.sides).joinedload(ExchangeSide.school),)


@dataclass(frozen=True)
class _PhaseRow:
    """The columns of an ExchangePhase that a pair's status is worked out from."""

    phase_key: str
    starts_on: date
    ends_on: date
    agreed: bool
    start_time: time | None
    host: str


@dataclass(frozen=True)
class _MemberRow:
    """The columns of a Membership, and of its user, that a pair's status is worked out from."""

    id: int
    joined_at: datetime
    role: str
    side: str | None
    user_id: int
    days: list[str] | None
    display_name: str
    blocked: bool


@dataclass(frozen=True)
class PairStatus:
    """One pair as /overzicht shows it: its flags and what its line says."""

    exchange: Exchange
    flags: tuple[risks.Flag, ...]
    score: int  # higher needs attention sooner
    snapshot: risks.Snapshot
    phase: str  # the phase key now, or risks.BEFORE / risks.AFTER
    phase_name: Text | None  # None before or after the programme
    next_day: risks.PhaseDates | None  # the first day phase from today on
    progress: Mapping[str, tuple[int, int]]  # side → (done, total) of the class's items
    begeleiders: int
    incidents: int  # not yet resolved (open or acknowledged)

    @property
    def city(self) -> str:
        return self.exchange.city


def local_today(now: datetime) -> date:
    return now.astimezone(AMSTERDAM).date()


def _chosen(coordinator: User, scope: str) -> Select[int]:
    """The ids of the active exchanges in `scope`: "mine" are those whose coordinator
    (exchanges.coordinators_of) the user is: made by them, or by nobody who still is one."""
    query = select(Exchange.id).where(Exchange.status == STATUS_ACTIVE)
    if scope == "mine":
        coordinators = select(User.id).where(User.is_coordinator.is_(True))
        query = query.where(
            or_(
                Exchange.created_by == coordinator.id,
                Exchange.created_by.is_(None),
                Exchange.created_by.not_in(coordinators),
            )
        )
    return query


async def pairs(
    session: AsyncSession,
    coordinator: User,
    *,
    now: datetime,
    programmes: Mapping[str, Programme],
    scope: str = "mine",
) -> list[PairStatus]:
    """Every active exchange the coordinator runs ("mine") or every active one ("all"), most
    in need of attention first. auth.NotAllowed for anyone but a coordinator."""
    await auth.require(session, coordinator, Action.VIEW_ALL_EXCHANGES)
    if scope not in SCOPES:
        raise ValueError(scope)
    return await _statuses(session, _chosen(coordinator, scope), now, programmes)


async def _statuses(
    session: AsyncSession,
    chosen: Select[int],
    now: datetime,
    programmes: Mapping[str, Programme],
    *,
    load: Sequence[_AbstractLoad] = _NAMES,
) -> list[PairStatus]:
    """The status of each exchange whose id `chosen` selects, in a constant number of queries;
    the exchanges come with what `load` loads of them."""
    today = local_today(now)
    found = list(
        await session.scalars(
            select(Exchange).where(Exchange.id.in_(chosen)).options(*load).order_by(Exchange.id)
        )
    )
    if not found:
        return []
    phases: dict[int, list[_PhaseRow]] = defaultdict(list)
    phase_rows = await session.execute(
        select(
            ExchangePhase.exchange_id,
            ExchangePhase.phase_key,
            ExchangePhase.starts_on,
            ExchangePhase.ends_on,
            ExchangePhase.agreed,
            ExchangePhase.start_time,
            ExchangePhase.host,
        )
        .where(ExchangePhase.exchange_id.in_(chosen))
        .order_by(ExchangePhase.exchange_id, ExchangePhase.starts_on, ExchangePhase.id)
    )
    for exchange_id, key, starts_on, ends_on, agreed, start_time, host in phase_rows:
        phases[exchange_id].append(_PhaseRow(key, starts_on, ends_on, agreed, start_time, host))
    members: dict[int, list[_MemberRow]] = defaultdict(list)
    member_rows = await session.execute(
        select(
            Membership.exchange_id,
            Membership.id,
            Membership.joined_at,
            Membership.role,
            Membership.side,
            Membership.user_id,
            Membership.days,
            User.display_name,
            User.blocked_at.is_not(None),
        )
        .join(User, User.id == Membership.user_id)
        .where(Membership.exchange_id.in_(chosen))
        .order_by(Membership.id)
    )
    for exchange_id, member_id, joined_at, role, side, user_id, days, name, blocked in member_rows:
        members[exchange_id].append(
            _MemberRow(member_id, joined_at, role, side, user_id, days, name, bool(blocked))
        )
    ticks: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    tick_rows = await session.execute(
        select(ChecklistTick.exchange_id, ChecklistTick.holder, ChecklistTick.item_key).where(
            ChecklistTick.exchange_id.in_(chosen)
        )
    )
    for exchange_id, holder, key in tick_rows:
        ticks[exchange_id][(holder, key)] = ""
    incidents: dict[int, list[risks.IncidentState]] = defaultdict(list)
    incident_rows = await session.execute(
        select(
            Incident.exchange_id,
            Incident.id,
            Incident.status,
            Incident.severity,
            Incident.created_at,
        ).where(Incident.exchange_id.in_(chosen), Incident.status.in_(OPEN_STATES))
    )
    for exchange_id, incident_id, status, severity, created_at in incident_rows:
        incidents[exchange_id].append(
            risks.IncidentState(incident_id, status, severity, created_at)
        )
    checkouts: dict[int, list[risks.CheckOut]] = defaultdict(list)
    checkout_rows = await session.execute(
        select(CheckIn.exchange_id, CheckIn.day, CheckIn.tension).where(
            CheckIn.exchange_id.in_(chosen),
            CheckIn.checked_out_at.is_not(None),
            CheckIn.day >= today - risks.TENSION_DAYS,
        )
    )
    for exchange_id, day, tension in checkout_rows:
        checkouts[exchange_id].append(risks.CheckOut(day, bool(tension)))
    absent: dict[int, dict[int, set[tuple[str, date]]]] = defaultdict(lambda: defaultdict(set))
    absence_rows = await session.execute(
        select(Absence.exchange_id, Absence.user_id, Absence.phase_key, Absence.day).where(
            Absence.exchange_id.in_(chosen), Absence.day >= today
        )
    )
    for exchange_id, user_id, phase_key, day in absence_rows:
        absent[exchange_id][user_id].add((phase_key, day))
    statuses = [
        status_of(
            exchange,
            programmes.get(exchange.programme_key),
            today,
            phases=phases[exchange.id],
            members=members[exchange.id],
            ticks=ticks[exchange.id],
            incidents=incidents[exchange.id],
            checkouts=checkouts[exchange.id],
            absent={uid: frozenset(days) for uid, days in absent[exchange.id].items()},
        )
        for exchange in found
    ]
    return sort_by_risk(statuses)


def sort_by_risk(statuses: Sequence[PairStatus]) -> list[PairStatus]:
    """Most risk first; then the pair whose next day comes first; then by number."""
    far = date.max
    return sorted(
        statuses,
        key=lambda s: (-s.score, s.next_day.starts_on if s.next_day else far, s.exchange.id),
    )


# -- from the loaded rows to a snapshot --------------------------------------------------------


def _phase_dates(
    phases: Sequence[_PhaseRow], programme: Programme | None
) -> tuple[risks.PhaseDates, ...]:
    out = []
    for row in sorted(phases, key=lambda p: p.starts_on):
        phase = None
        if programme is not None:
            try:
                phase = programme.phase(row.phase_key)
            except KeyError:
                phase = None
        out.append(
            risks.PhaseDates(
                key=row.phase_key,
                kind=phase.kind if phase else "week",
                name=phase.name if phase else Text(row.phase_key, row.phase_key),
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                agreed=row.agreed,
                needs_begeleider=phase.needs_begeleider if phase else False,
                start_time=row.start_time,
                host=row.host,
            )
        )
    return tuple(out)


def checklist_lines(
    phases: Sequence[_PhaseRow],
    members: Sequence[_MemberRow],
    programme: Programme | None,
    ticks: Mapping[tuple[str, str], str],
) -> tuple[risks.ChecklistLine, ...]:
    """Every checklist item of the exchange once per holder: the pair's, each class's, and
    each member's own (a begeleider's only for the days they are planned for).

    The same lines, in the same order, as checklists.entries gives for each side and then for
    each member, kept the first time a holder's item appears; worked out here on the phases
    once per pair, because /overzicht does it for every pair a coordinator runs.
    """
    if programme is None:
        return ()
    rows: list[tuple[Phase, _PhaseRow]] = []
    for row in sorted(phases, key=lambda p: p.starts_on):
        try:
            rows.append((programme.phase(row.phase_key), row))
        except KeyError:
            continue
    # An item's deadline depends only on its phase's dates, whoever holds it; the rows' columns
    # are read once here rather than once per item and member.
    plain = [
        (
            phase,
            phase.kind == "day",
            row.host,
            row.ends_on,
            [(item, due_date(item, row.starts_on)) for item in phase.checklist],
        )
        for phase, row in rows
    ]
    seen: set[tuple[str, str]] = set()
    out: list[risks.ChecklistLine] = []

    def add(role: str, side: str | None, user_id: int, member: _MemberRow | None) -> None:
        # A begeleider's day items count only for the days they are planned for.
        days = member.days if member is not None and role == ROLE_BEGELEIDER else None
        limited = member is not None and role == ROLE_BEGELEIDER
        for phase, is_day, host, ends_on, items in plain:
            if limited and is_day and not risks.planned_for(days, phase.key):
                continue
            for item, deadline in items:
                if not item.applies_to(role, side, host):
                    continue
                holder = holder_for(item, role, side, user_id)
                if member is None:
                    if item.scope not in ("pair", "class"):
                        continue
                elif item.scope != "person" and holder != PAIR:
                    continue
                key = (holder, item.key)
                if key in seen:
                    continue
                seen.add(key)
                out.append(risks.ChecklistLine(holder, item.key, deadline, ends_on, key in ticks))

    for side in ("A", "B"):
        add(ROLE_TEACHER, side, 0, None)
    for m in sorted(members, key=lambda m: m.id):
        add(m.role, m.side, m.user_id, m)
    return tuple(out)


def snapshot_of(
    exchange: Exchange,
    programme: Programme | None,
    *,
    phases: Sequence[_PhaseRow],
    members: Sequence[_MemberRow],
    ticks: Mapping[tuple[str, str], str],
    incidents: Sequence[risks.IncidentState] = (),
    checkouts: Sequence[risks.CheckOut] = (),
    absent: Mapping[int, frozenset[tuple[str, date]]] | None = None,
) -> risks.Snapshot:
    """The plain snapshot of an exchange loaded with its sides, from its phases and members."""
    absent = absent or {}
    joined = sorted(members, key=lambda m: (m.joined_at, m.id))
    return risks.Snapshot(
        phases=_phase_dates(phases, programme),
        week1_end=programme_start(exchange.start_date) + timedelta(days=WEEK1_LAST_DAY),
        schools={s.side: s.school.name for s in exchange.sides},
        checklist=checklist_lines(phases, members, programme, ticks),
        begeleiders=tuple(
            risks.Begeleider(
                m.user_id,
                m.display_name,
                tuple(m.days) if m.days is not None else None,
                absent.get(m.user_id, frozenset()),
            )
            for m in joined
            if m.role == ROLE_BEGELEIDER
        ),
        teachers=tuple(
            risks.Teacher(m.side, m.display_name, m.blocked)
            for m in joined
            if m.role == ROLE_TEACHER and m.side in ("A", "B")
        ),
        incidents=tuple(incidents),
        checkouts=tuple(checkouts),
    )


def status_of(
    exchange: Exchange,
    programme: Programme | None,
    today: date,
    *,
    phases: Sequence[_PhaseRow],
    members: Sequence[_MemberRow],
    ticks: Mapping[tuple[str, str], str],
    incidents: Sequence[risks.IncidentState] = (),
    checkouts: Sequence[risks.CheckOut] = (),
    absent: Mapping[int, frozenset[tuple[str, date]]] | None = None,
) -> PairStatus:
    snapshot = snapshot_of(
        exchange,
        programme,
        phases=phases,
        members=members,
        ticks=ticks,
        incidents=incidents,
        checkouts=checkouts,
        absent=absent,
    )
    assessment = risks.assess(snapshot, today)
    phase = risks.phase_now(snapshot.phases, today)
    names = {p.key: p.name for p in snapshot.phases}
    return PairStatus(
        exchange=exchange,
        flags=assessment.flags,
        score=assessment.score,
        snapshot=snapshot,
        phase=phase,
        phase_name=names.get(phase),
        next_day=risks.next_day(snapshot.phases, today),
        progress={side: risks.progress(snapshot.checklist, {PAIR, side}) for side in ("A", "B")},
        begeleiders=len(snapshot.begeleiders),
        incidents=len(incidents),
    )


# -- one pair in detail ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentLine:
    id: int
    category: str
    severity: str
    status: str
    created_at: datetime
    team_number: int | None


@dataclass(frozen=True)
class CountLine:
    """The last headcount of a side on the last day anyone counted."""

    day: date
    side: str
    count: int
    moment: str
    class_size: int


@dataclass(frozen=True)
class Detail:
    """Everything /overzicht shows about one pair."""

    status: PairStatus
    programme: Programme | None
    # Each begeleider's own items: (name, done, total).
    begeleider_progress: tuple[tuple[str, int, int], ...]
    incidents: tuple[IncidentLine, ...]
    counts: tuple[CountLine, ...]
    groups: tuple[str, ...]  # titles of linked Telegram groups
    absent: Mapping[int, frozenset[tuple[str, date]]] = field(default_factory=dict)

    @property
    def exchange(self) -> Exchange:
        return self.status.exchange


async def detail(
    session: AsyncSession,
    coordinator: User,
    exchange_id: int,
    now: datetime,
    programmes: Mapping[str, Programme],
) -> Detail:
    """One exchange with everything about it, for a coordinator (auth.NotAllowed otherwise;
    an archived exchange may be looked at)."""
    await auth.require(session, coordinator, Action.VIEW_ALL_EXCHANGES)
    await auth.require_exchange(session, coordinator, Action.VIEW_PROGRESS, exchange_id)
    chosen = select(Exchange.id).where(Exchange.id == exchange_id)
    # The detail shows the members themselves: this one pair comes with them as objects.
    found = await _statuses(session, chosen, now, programmes, load=_LOAD)
    if not found:
        raise auth.NotAllowed(Action.VIEW_PROGRESS, exchange_id)
    status = found[0]
    exchange = status.exchange
    rows = await session.execute(
        select(
            Incident.id,
            Incident.category,
            Incident.severity,
            Incident.status,
            Incident.created_at,
            Incident.team_number,
        )
        .where(Incident.exchange_id == exchange_id, Incident.status.in_(OPEN_STATES))
        .order_by(Incident.created_at, Incident.id)
    )
    incidents = tuple(IncidentLine(*row) for row in rows)
    last_day = await session.scalar(
        select(Headcount.day)
        .where(Headcount.exchange_id == exchange_id)
        .order_by(Headcount.day.desc())
        .limit(1)
    )
    counts: list[CountLine] = []
    if last_day is not None:
        sizes = {s.side: s.class_size for s in exchange.sides}
        latest: dict[str, Headcount] = {}
        for row in await session.scalars(
            select(Headcount)
            .where(Headcount.exchange_id == exchange_id, Headcount.day == last_day)
            .order_by(Headcount.recorded_at, Headcount.id)
        ):
            latest[row.side] = row
        counts = [
            CountLine(last_day, side, row.count, row.moment, sizes.get(side, 0))
            for side, row in sorted(latest.items())
        ]
    groups = tuple(
        await session.scalars(
            select(GroupLink.title)
            .where(GroupLink.exchange_id == exchange_id)
            .order_by(GroupLink.linked_at)
        )
    )
    snapshot = status.snapshot
    begeleider_progress = tuple(
        (b.name, *risks.progress(snapshot.checklist, {f"user:{b.user_id}"}))
        for b in snapshot.begeleiders
    )
    return Detail(
        status=status,
        programme=programmes.get(exchange.programme_key),
        begeleider_progress=begeleider_progress,
        incidents=incidents,
        counts=tuple(counts),
        groups=groups,
        absent={b.user_id: b.absent for b in snapshot.begeleiders},
    )
