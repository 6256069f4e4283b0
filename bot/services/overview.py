"""/overzicht: every pair a coordinator runs, with its risk flags, and one pair in detail.

Read-only. However many pairs there are, `lines` runs the same handful of queries: the
exchanges' names, phases and members, then the ticks, open incidents, recent check-outs and
coming absences of all of them at once, as plain rows grouped here. A thousand pairs are
assessed for their order and flags from those rows; only one pair shown in detail comes as
objects. The flags themselves are decided in bot/domain/risks.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain import risks
from bot.domain.permissions import Action
from bot.domain.programme import Phase, Programme, Text
from bot.domain.timeline import AMSTERDAM, due_date, programme_start
from bot.services import auth
from bot.services.checklists import PAIR, holder_for
from bot.services.exchanges import active_ids
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
    School,
    User,
)

SCOPES = ("mine", "all")
# The last school day of week 1: Friday.
WEEK1_LAST_DAY = 4
# Where a phase "now" sorts among the phase filters: before the first phase, after the last,
# and a phase the pair's dates do not hold.
BEFORE_PLACE = -1
AFTER_PLACE = 10_000
UNKNOWN_PLACE = 9_999

# The pair shown in detail comes with its schools and members as objects.
_LOAD = (
    selectinload(Exchange.sides).joinedload(ExchangeSide.school),
    selectinload(Exchange.memberships).joinedload(Membership.user),
)
# The pairs of `pairs` come with what names them.
_NAMES = (selectinload(Exchange.sides).joinedload(ExchangeSide.school),)


class _PhaseRow(NamedTuple):
    """The columns of an ExchangePhase that a pair's status is worked out from."""

    phase_key: str
    starts_on: date
    ends_on: date
    agreed: bool
    start_time: time | None
    host: str


class _MemberRow(NamedTuple):
    """The columns of a Membership, and of its user, that a pair's status is worked out from
    (the members of a pair come in the order they joined)."""

    id: int
    role: str
    side: str | None
    user_id: int
    days: list[str] | None
    display_name: str
    blocked: bool


class _ExchangeRow(NamedTuple):
    id: int
    city: str
    programme_key: str
    start_date: date


@dataclass(frozen=True)
class PairLine:
    """One pair as the list of /overzicht shows it: its flags and what its line says."""

    id: int
    city: str
    title: str  # its schools, as services.exchanges.title names them
    programme_key: str
    flags: tuple[risks.Flag, ...]
    score: int  # higher needs attention sooner
    phase: str  # the phase key now, or risks.BEFORE / risks.AFTER
    phase_name: Text | None  # None before or after the programme
    phase_place: int  # where `phase` sorts among the pair's phases (BEFORE_PLACE, …)
    next_day: risks.PhaseDates | None  # the first day phase from today on
    progress: Mapping[str, tuple[int, int]]  # side → (done, total) of the class's items
    begeleiders: int
    incidents: int  # not yet resolved (open or acknowledged)

    @property
    def label(self) -> str:
        """As services.exchanges.label: '#12 De Avonturijn – De Odyssee'."""
        return f"#{self.id} {self.title}"


class PairRank(NamedTuple):
    """A pair's place in the list, and what the list's filters and heading read of it."""

    order: tuple[int, date, int]  # most risk first; then the next day; then by number
    id: int
    city: str
    phase: str  # as PairLine.phase
    phase_name: Text | None
    phase_place: int
    flagged: bool  # whether it has any flag


class Listing:
    """Every pair of the list by its rank, and the line of any of them on demand: a page
    shows a few lines, and only those are worked out in full."""

    def __init__(self, loaded: _Loaded, plans: _Plans) -> None:
        self._loaded = loaded
        self._plans = plans
        self._exchanges = {exchange.id: exchange for exchange in loaded.exchanges}
        self.ranks = sorted(_rank(exchange, loaded, plans) for exchange in loaded.exchanges)

    def line(self, exchange_id: int) -> PairLine:
        """The line of one pair of the list."""
        return _assess(self._exchanges[exchange_id], self._loaded, self._plans)[0]


@dataclass(frozen=True)
class PairStatus:
    """One pair with its exchange (and its schools) loaded: its line of the list."""

    line: PairLine
    exchange: Exchange

    @property
    def id(self) -> int:
        return self.line.id

    @property
    def city(self) -> str:
        return self.line.city

    @property
    def flags(self) -> tuple[risks.Flag, ...]:
        return self.line.flags

    @property
    def score(self) -> int:
        return self.line.score

    @property
    def phase(self) -> str:
        return self.line.phase

    @property
    def phase_name(self) -> Text | None:
        return self.line.phase_name

    @property
    def next_day(self) -> risks.PhaseDates | None:
        return self.line.next_day

    @property
    def progress(self) -> Mapping[str, tuple[int, int]]:
        return self.line.progress

    @property
    def begeleiders(self) -> int:
        return self.line.begeleiders

    @property
    def incidents(self) -> int:
        return self.line.incidents


def local_today(now: datetime) -> date:
    return now.astimezone(AMSTERDAM).date()


async def lines(
    session: AsyncSession,
    coordinator: User,
    *,
    now: datetime,
    programmes: Mapping[str, Programme],
    scope: str = "mine",
) -> list[PairLine]:
    """Every active exchange the coordinator runs ("mine") or every active one ("all"), most
    in need of attention first, as plain lines. auth.NotAllowed for anyone but a coordinator."""
    await auth.require(session, coordinator, Action.VIEW_ALL_EXCHANGES)
    if scope not in SCOPES:
        raise ValueError(scope)
    today = local_today(now)
    loaded = await _load(session, active_ids(coordinator, mine=scope == "mine"), today)
    return sort_by_risk(_lines(loaded, today, programmes))


async def listing(
    session: AsyncSession,
    coordinator: User,
    *,
    now: datetime,
    programmes: Mapping[str, Programme],
    scope: str = "mine",
) -> Listing:
    """`lines` as a list shows them a page at a time: ranked, each line worked out when it is
    shown. auth.NotAllowed for anyone but a coordinator."""
    await auth.require(session, coordinator, Action.VIEW_ALL_EXCHANGES)
    if scope not in SCOPES:
        raise ValueError(scope)
    today = local_today(now)
    loaded = await _load(session, active_ids(coordinator, mine=scope == "mine"), today)
    return Listing(loaded, _Plans(programmes, today))


async def any_running(session: AsyncSession) -> bool:
    """Whether any exchange is active (someone's, if not the coordinator's own)."""
    found = await session.scalar(
        select(Exchange.id).where(Exchange.status == STATUS_ACTIVE).limit(1)
    )
    return found is not None


async def pairs(
    session: AsyncSession,
    coordinator: User,
    *,
    now: datetime,
    programmes: Mapping[str, Programme],
    scope: str = "mine",
) -> list[PairStatus]:
    """`lines`, each with its exchange (and its schools) loaded."""
    found = await lines(session, coordinator, now=now, programmes=programmes, scope=scope)
    if not found:
        return []
    exchanges = {
        e.id: e
        for e in await session.scalars(
            select(Exchange)
            .where(Exchange.id.in_(active_ids(coordinator, mine=scope == "mine")))
            .options(*_NAMES)
        )
    }
    return [PairStatus(line, exchanges[line.id]) for line in found if line.id in exchanges]


class _Ranked(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def score(self) -> int: ...

    @property
    def next_day(self) -> risks.PhaseDates | None: ...


_R = TypeVar("_R", bound=_Ranked)


def sort_by_risk(statuses: Sequence[_R]) -> list[_R]:
    """Most risk first; then the pair whose next day comes first; then by number."""
    return sorted(statuses, key=lambda s: _order(s.score, s.next_day, s.id))


def _order(
    score: int, next_day: risks.PhaseDates | None, exchange_id: int
) -> tuple[int, date, int]:
    return (-score, next_day.starts_on if next_day else date.max, exchange_id)


# -- the rows of many pairs at once --------------------------------------------------------------


@dataclass
class _Loaded:
    """Everything the status of the chosen exchanges is worked out from, by exchange id."""

    exchanges: list[_ExchangeRow]
    schools: dict[int, dict[str, str]] = field(default_factory=dict)
    phases: dict[int, list[_PhaseRow]] = field(default_factory=dict)
    members: dict[int, list[_MemberRow]] = field(default_factory=dict)
    ticks: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    incidents: dict[int, list[risks.IncidentState]] = field(default_factory=dict)
    checkouts: dict[int, list[risks.CheckOut]] = field(default_factory=dict)
    absent: dict[int, dict[int, set[tuple[str, date]]]] = field(default_factory=dict)


async def _load(session: AsyncSession, chosen: Select[int], today: date) -> _Loaded:
    """The rows of the exchanges whose id `chosen` selects, in a constant number of queries:
    plain columns, never objects (read on the session's connection: rows of columns need
    nothing of the ORM)."""
    connection = await session.connection()
    exchanges = [
        _ExchangeRow(*row)
        for row in await connection.execute(
            select(Exchange.id, Exchange.city, Exchange.programme_key, Exchange.start_date)
            .where(Exchange.id.in_(chosen))
            .order_by(Exchange.id)
        )
    ]
    loaded = _Loaded(exchanges)
    if not exchanges:
        return loaded
    schools = loaded.schools
    for exchange_id, side, name in await connection.execute(
        select(ExchangeSide.exchange_id, ExchangeSide.side, School.name)
        .join(School, School.id == ExchangeSide.school_id)
        .where(ExchangeSide.exchange_id.in_(chosen))
    ):
        schools.setdefault(exchange_id, {})[side] = name
    phases = loaded.phases
    for exchange_id, key, starts_on, ends_on, agreed, start_time, host in await connection.execute(
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
    ):
        phases.setdefault(exchange_id, []).append(
            _PhaseRow(key, starts_on, ends_on, agreed, start_time, host)
        )
    members = loaded.members
    for (
        exchange_id,
        member_id,
        role,
        member_side,
        user_id,
        days,
        display_name,
        blocked,
    ) in await connection.execute(
        select(
            Membership.exchange_id,
            Membership.id,
            Membership.role,
            Membership.side,
            Membership.user_id,
            Membership.days,
            User.display_name,
            User.blocked_at.is_not(None),
        )
        .join(User, User.id == Membership.user_id)
        .where(Membership.exchange_id.in_(chosen))
        .order_by(Membership.joined_at, Membership.id)
    ):
        members.setdefault(exchange_id, []).append(
            _MemberRow(member_id, role, member_side, user_id, days, display_name, bool(blocked))
        )
    ticks = loaded.ticks
    for exchange_id, holder, key in await connection.execute(
        select(ChecklistTick.exchange_id, ChecklistTick.holder, ChecklistTick.item_key).where(
            ChecklistTick.exchange_id.in_(chosen)
        )
    ):
        ticks.setdefault(exchange_id, set()).add((holder, key))
    incidents = loaded.incidents
    for exchange_id, incident_id, status, severity, created_at in await connection.execute(
        select(
            Incident.exchange_id,
            Incident.id,
            Incident.status,
            Incident.severity,
            Incident.created_at,
        ).where(Incident.exchange_id.in_(chosen), Incident.status.in_(OPEN_STATES))
    ):
        incidents.setdefault(exchange_id, []).append(
            risks.IncidentState(incident_id, status, severity, created_at)
        )
    checkouts = loaded.checkouts
    for exchange_id, day, tension in await connection.execute(
        select(CheckIn.exchange_id, CheckIn.day, CheckIn.tension).where(
            CheckIn.exchange_id.in_(chosen),
            CheckIn.checked_out_at.is_not(None),
            CheckIn.day >= today - risks.TENSION_DAYS,
        )
    ):
        checkouts.setdefault(exchange_id, []).append(risks.CheckOut(day, bool(tension)))
    absent = loaded.absent
    for exchange_id, user_id, phase_key, day in await connection.execute(
        select(Absence.exchange_id, Absence.user_id, Absence.phase_key, Absence.day).where(
            Absence.exchange_id.in_(chosen), Absence.day >= today
        )
    ):
        absent.setdefault(exchange_id, {}).setdefault(user_id, set()).add((phase_key, day))
    return loaded


# -- from the rows to a pair's status ---------------------------------------------------------

# In a phase's entries: the item is the member's own ("user:<id>").
_OWN = ""
# (holder, or _OWN; item key; deadline)
_Entry = tuple[str, str, date]
_NO_TICKS: set[tuple[str, str]] = set()


class _PhasePlan:
    """The checklist of one phase on its dates, for each kind of holder: worked out once for
    every pair with the same phase on the same dates and host."""

    __slots__ = ("_entries", "host", "is_day", "key", "phase", "starts_on")

    def __init__(self, phase: Phase, starts_on: date, host: str) -> None:
        self.phase = phase
        self.key = phase.key
        self.is_day = phase.kind == "day"
        self.starts_on = starts_on
        self.host = host
        self._entries: dict[tuple[str, str | None, bool], tuple[_Entry, ...]] = {}

    def entries(self, role: str, side: str | None, member: bool) -> tuple[_Entry, ...]:
        """The items a class (`member` False: a teacher's side) or a member holds here: the
        pair's and the class's, or the pair's and their own."""
        wanted = (role, side, member)
        found = self._entries.get(wanted)
        if found is None:
            found = self._entries[wanted] = tuple(self._work_out(role, side, member))
        return found

    def _work_out(self, role: str, side: str | None, member: bool) -> list[_Entry]:
        out: list[_Entry] = []
        for item in self.phase.checklist:
            if not item.applies_to(role, side, self.host):
                continue
            if item.scope == "pair":
                holder = PAIR
            elif member:
                if item.scope != "person":
                    continue
                holder = _OWN
            elif item.scope == "class":
                holder = holder_for(item, role, side, 0)
            else:
                continue
            out.append((holder, item.key, due_date(item, self.starts_on)))
        return out


# A holder of a template's line: "pair", "A", "B", or "" with the member's place in the team.
_Held = tuple[str, int, str, date, date]  # (holder, place, item key, deadline, phase's last day)


@dataclass
class _Template:
    """A pair's checklist for one team on its phases' dates, each line held by the pair, a
    class or a member's place in the team: worked out once for every pair that has the same
    phases on the same dates and the same kinds of members."""

    lines: list[_Held]
    # Past their deadline, of a phase that is not over: the line itself when it is the pair's
    # or a class's (the same for every pair with this template), else None.
    late: list[tuple[risks.ChecklistLine | None, str, int, str, date, date]]
    totals: dict[str, int]  # "pair", "A", "B" → their number of lines
    shared: dict[tuple[str, str], str]  # (holder, item key) of those lines → holder


@dataclass
class _Dates:
    """A pair's phases on their dates and what follows from them today: worked out once for
    every pair that has the same phases on the same dates."""

    phases: tuple[risks.PhaseDates, ...]
    plans: list[tuple[_PhasePlan, date]]  # the checklist of each phase, with its last day
    phase: str
    phase_name: Text | None
    phase_place: int
    next_day: risks.PhaseDates | None
    templates: dict[tuple[tuple[str, str | None, tuple[str, ...] | None, int], ...], _Template]


class _Plans:
    """What many pairs share, worked out once per call: each phase's dates as risks reads
    them and each phase's checklist on its dates, each pair's phases as a whole, and its
    checklist for a team."""

    def __init__(self, programmes: Mapping[str, Programme], today: date) -> None:
        self.programmes = programmes
        self.today = today
        self._phase_dates: dict[tuple[str, _PhaseRow], risks.PhaseDates] = {}
        self._plans: dict[tuple[str, str, date, str], _PhasePlan | None] = {}
        self._dates: dict[tuple[str, tuple[_PhaseRow, ...]], _Dates] = {}
        self._week1: dict[date, date] = {}

    def week1_end(self, start_date: date) -> date:
        found = self._week1.get(start_date)
        if found is None:
            found = self._week1[start_date] = programme_start(start_date) + timedelta(
                days=WEEK1_LAST_DAY
            )
        return found

    def dates(self, programme_key: str, rows: Sequence[_PhaseRow]) -> _Dates:
        wanted = (programme_key, tuple(sorted(rows, key=lambda p: p.starts_on)))
        found = self._dates.get(wanted)
        if found is None:
            found = self._dates[wanted] = self._work_out(*wanted)
        return found

    def _work_out(self, programme_key: str, rows: tuple[_PhaseRow, ...]) -> _Dates:
        programme = self.programmes.get(programme_key)
        phases = tuple(self._phase_date(programme_key, programme, row) for row in rows)
        plans = []
        if programme is not None:
            for row in rows:
                plan = self._plan(programme_key, programme, row)
                if plan is not None:
                    plans.append((plan, row.ends_on))
        today = self.today
        phase = risks.phase_now(phases, today)
        # The name of the last phase with that key, the place of the first (as a dict of the
        # names and the list of the keys would have them).
        name: Text | None = None
        place = UNKNOWN_PLACE
        for n, p in reversed(list(enumerate(phases))):
            if p.key == phase:
                place, name = (n, p.name) if name is None else (n, name)
        if phase == risks.BEFORE:
            place = BEFORE_PLACE
        elif phase == risks.AFTER:
            place = AFTER_PLACE
        return _Dates(
            phases, plans, phase, name, place, risks.next_day(phases, today), templates={}
        )

    def _phase_date(
        self, programme_key: str, programme: Programme | None, row: _PhaseRow
    ) -> risks.PhaseDates:
        found = self._phase_dates.get((programme_key, row))
        if found is not None:
            return found
        phase = None
        if programme is not None:
            try:
                phase = programme.phase(row.phase_key)
            except KeyError:
                phase = None
        found = self._phase_dates[(programme_key, row)] = risks.PhaseDates(
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
        return found

    def _plan(self, programme_key: str, programme: Programme, row: _PhaseRow) -> _PhasePlan | None:
        wanted = (programme_key, row.phase_key, row.starts_on, row.host)
        if wanted in self._plans:
            return self._plans[wanted]
        try:
            phase = programme.phase(row.phase_key)
        except KeyError:
            plan = None
        else:
            plan = _PhasePlan(phase, row.starts_on, row.host)
        self._plans[wanted] = plan
        return plan

    def template(self, dates: _Dates, members: Sequence[_MemberRow]) -> tuple[_Template, list[str]]:
        """The pair's checklist for its team, and the holder of each place in the team."""
        places: dict[int, int] = {}
        owns: list[str] = []
        team = []
        for m in sorted(members, key=lambda m: m.id):
            # Someone in the team twice (a teacher who is also a begeleider) holds their own
            # items once.
            place = places.get(m.user_id)
            if place is None:
                place = places[m.user_id] = len(owns)
                owns.append(f"user:{m.user_id}")
            team.append((m.role, m.side, tuple(m.days) if m.days is not None else None, place))
        shape = tuple(team)
        found = dates.templates.get(shape)
        if found is None:
            found = dates.templates[shape] = _template(dates.plans, shape, self.today)
        return found, owns


def _template(
    plans: Sequence[tuple[_PhasePlan, date]],
    team: Sequence[tuple[str, str | None, tuple[str, ...] | None, int]],
    today: date,
) -> _Template:
    """Every checklist item of the exchange once per holder: the pair's, each class's, and
    each member's own (a begeleider's only for the days they are planned for).

    The same lines, in the same order, as checklists.entries gives for each side and then for
    each member, kept the first time a holder's item appears.
    """
    seen: set[tuple[str, int, str]] = set()
    lines: list[_Held] = []

    def add(
        role: str, side: str | None, place: int, member: bool, days: tuple[str, ...] | None
    ) -> None:
        # A begeleider's day items count only for the days they are planned for.
        limited = member and role == ROLE_BEGELEIDER
        for plan, ends_on in plans:
            if limited and plan.is_day and not risks.planned_for(days, plan.key):
                continue
            for holder, key, deadline in plan.entries(role, side, member):
                held = (holder, place if not holder else -1, key)
                if held in seen:
                    continue
                seen.add(held)
                lines.append((*held, deadline, ends_on))

    if plans:
        for letter in ("A", "B"):
            add(ROLE_TEACHER, letter, -1, False, None)
        for role, side, days, place in team:
            add(role, side, place, True, days)
    totals = dict.fromkeys((PAIR, "A", "B"), 0)
    shared: dict[tuple[str, str], str] = {}
    for holder, _place, key, _deadline, _ends_on in lines:
        if holder in totals:
            totals[holder] += 1
            shared[(holder, key)] = holder
    late = [
        (
            risks.ChecklistLine(holder, key, deadline, ends_on, False) if holder else None,
            holder,
            place,
            key,
            deadline,
            ends_on,
        )
        for holder, place, key, deadline, ends_on in lines
        if deadline < today <= ends_on
    ]
    return _Template(lines, late, totals, shared)


def _late(
    template: _Template, owns: Sequence[str], ticks: set[tuple[str, str]]
) -> tuple[risks.ChecklistLine, ...]:
    """The pair's lines past their deadline and not done, of phases that are not over."""
    late = []
    for shared, holder, place, key, deadline, ends_on in template.late:
        if shared is not None:
            if (holder, key) not in ticks:
                late.append(shared)
        elif (owns[place], key) not in ticks:
            late.append(risks.ChecklistLine(owns[place], key, deadline, ends_on, False))
    return tuple(late)


def _progress(template: _Template, ticks: set[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """(done, total) of each class's items: the pair's and its own."""
    done = dict.fromkeys((PAIR, "A", "B"), 0)
    shared = template.shared
    for tick in ticks:
        holder = shared.get(tick)
        if holder is not None:
            done[holder] += 1
    totals = template.totals
    return {side: (done[PAIR] + done[side], totals[PAIR] + totals[side]) for side in ("A", "B")}


def _every_line(
    template: _Template, owns: Sequence[str], ticks: set[tuple[str, str]]
) -> tuple[risks.ChecklistLine, ...]:
    out = []
    for holder, place, key, deadline, ends_on in template.lines:
        held = holder or owns[place]
        out.append(risks.ChecklistLine(held, key, deadline, ends_on, (held, key) in ticks))
    return tuple(out)


def _snapshot(
    exchange: _ExchangeRow,
    loaded: _Loaded,
    plans: _Plans,
    dates: _Dates,
    members: Sequence[_MemberRow],
    checklist: tuple[risks.ChecklistLine, ...],
) -> risks.Snapshot:
    exchange_id = exchange.id
    absent = loaded.absent.get(exchange_id, {})
    return risks.Snapshot(
        phases=dates.phases,
        week1_end=plans.week1_end(exchange.start_date),
        schools=loaded.schools.get(exchange_id, {}),
        checklist=checklist,
        # The members come in the order they joined.
        begeleiders=tuple(
            risks.Begeleider(
                m.user_id,
                m.display_name,
                tuple(m.days) if m.days is not None else None,
                frozenset(absent.get(m.user_id, ())),
            )
            for m in members
            if m.role == ROLE_BEGELEIDER
        ),
        teachers=tuple(
            risks.Teacher(m.side, m.display_name, m.blocked)
            for m in members
            if m.role == ROLE_TEACHER and m.side in ("A", "B")
        ),
        incidents=tuple(loaded.incidents.get(exchange_id, ())),
        checkouts=tuple(loaded.checkouts.get(exchange_id, ())),
    )


def _assess(
    exchange: _ExchangeRow,
    loaded: _Loaded,
    plans: _Plans,
    *,
    whole: bool = False,
) -> tuple[PairLine, risks.Snapshot]:
    """A pair's line and the snapshot it was assessed from. The snapshot's checklist holds
    every line with `whole`, else only those past their deadline and not done (all that the
    flags read of it)."""
    exchange_id = exchange.id
    members = loaded.members.get(exchange_id, [])
    dates = plans.dates(exchange.programme_key, loaded.phases.get(exchange_id, []))
    template, owns = plans.template(dates, members)
    ticks = loaded.ticks.get(exchange_id, _NO_TICKS)
    checklist = _every_line(template, owns, ticks) if whole else _late(template, owns, ticks)
    snapshot = _snapshot(exchange, loaded, plans, dates, members, checklist)
    assessment = risks.assess(snapshot, plans.today)
    schools = snapshot.schools
    return PairLine(
        id=exchange_id,
        city=exchange.city,
        title=" – ".join(schools[side] for side in sorted(schools)),
        programme_key=exchange.programme_key,
        flags=assessment.flags,
        score=assessment.score,
        phase=dates.phase,
        phase_name=dates.phase_name,
        phase_place=dates.phase_place,
        next_day=dates.next_day,
        progress=_progress(template, ticks),
        begeleiders=len(snapshot.begeleiders),
        incidents=len(snapshot.incidents),
    ), snapshot


def _rank(exchange: _ExchangeRow, loaded: _Loaded, plans: _Plans) -> PairRank:
    """What `_assess` says of a pair that orders the list: its flags' score, its phase and
    its next day; nothing of what only its line shows."""
    exchange_id = exchange.id
    members = loaded.members.get(exchange_id, [])
    dates = plans.dates(exchange.programme_key, loaded.phases.get(exchange_id, []))
    template, owns = plans.template(dates, members)
    snapshot = _snapshot(
        exchange,
        loaded,
        plans,
        dates,
        members,
        _late(template, owns, loaded.ticks.get(exchange_id, _NO_TICKS)),
    )
    assessment = risks.assess(snapshot, plans.today)
    return PairRank(
        _order(assessment.score, dates.next_day, exchange_id),
        exchange_id,
        exchange.city,
        dates.phase,
        dates.phase_name,
        dates.phase_place,
        bool(assessment.flags),
    )


def _lines(loaded: _Loaded, today: date, programmes: Mapping[str, Programme]) -> list[PairLine]:
    plans = _Plans(programmes, today)
    return [_assess(exchange, loaded, plans)[0] for exchange in loaded.exchanges]


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
    snapshot: risks.Snapshot  # with every line of its checklist
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
    today = local_today(now)
    loaded = await _load(session, select(Exchange.id).where(Exchange.id == exchange_id), today)
    exchange = await session.scalar(
        select(Exchange).where(Exchange.id == exchange_id).options(*_LOAD)
    )
    if not loaded.exchanges or exchange is None:
        raise auth.NotAllowed(Action.VIEW_PROGRESS, exchange_id)
    # The detail shows the members themselves: this one pair comes with them as objects.
    line, snapshot = _assess(loaded.exchanges[0], loaded, _Plans(programmes, today), whole=True)
    status = PairStatus(line, exchange)
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
    begeleider_progress = tuple(
        (b.name, *risks.progress(snapshot.checklist, {f"user:{b.user_id}"}))
        for b in snapshot.begeleiders
    )
    return Detail(
        status=status,
        snapshot=snapshot,
        programme=programmes.get(exchange.programme_key),
        begeleider_progress=begeleider_progress,
        incidents=incidents,
        counts=tuple(counts),
        groups=groups,
        absent={b.user_id: b.absent for b in snapshot.begeleiders},
    )
