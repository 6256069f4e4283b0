"""Which pairs need a coordinator's attention, and why: risk flags over a plain snapshot.

The service (bot/services/overview.py) loads every exchange a coordinator runs at once and
turns each into a `Snapshot`; `assess` says what is wrong with it and how urgent that is. The
same flags are shown in /overzicht, on its detail view and in the Monday summary, so a pair
reads the same everywhere.

The flags, by their key:

- ``dates_open``: week 1 is over and days of the programme are not agreed yet;
- ``overdue``: checklist items past their deadline (how many, and the oldest);
- ``no_begeleider``: a day within the next two weeks for which no begeleider is coming;
- ``incident_open``: an incident nobody acknowledged yet;
- ``teacher_missing``: a class without a teacher who joined, or a teacher who blocked the bot;
- ``tension``: a begeleider reported tension between the groups at their last check-out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.domain.outbox import planned_for as planned_for
from bot.domain.programme import Text
from bot.domain.timeline import PlannedPhase, current_phase

DATES_OPEN = "dates_open"
OVERDUE = "overdue"
NO_BEGELEIDER = "no_begeleider"
INCIDENT_OPEN = "incident_open"
TEACHER_MISSING = "teacher_missing"
TENSION = "tension"
# In the order they are listed under a pair: what needs acting on first comes first.
FLAG_KEYS = (INCIDENT_OPEN, NO_BEGELEIDER, TEACHER_MISSING, TENSION, DATES_OPEN, OVERDUE)

# A day without a begeleider is flagged this long ahead: enough to find someone else.
BEGELEIDER_HORIZON = timedelta(days=14)
# Tension reported at a check-out stays a flag this long after that day.
TENSION_DAYS = timedelta(days=14)

# How much each flag weighs when pairs are sorted: an unseen incident and a day without a
# begeleider come before everything else, then what people must do soon.
WEIGHTS = {
    INCIDENT_OPEN: 1000,
    NO_BEGELEIDER: 500,
    TEACHER_MISSING: 200,
    TENSION: 150,
    DATES_OPEN: 100,
    OVERDUE: 50,
}
SEVERITY_ORDER = ("low", "medium", "high", "urgent")

# A phase "now" outside the programme's weeks.
BEFORE = "before"
AFTER = "after"


@dataclass(frozen=True)
class PhaseDates:
    """One phase of the exchange as planned or agreed."""

    key: str
    kind: str  # "week" | "day"
    name: Text
    starts_on: date
    ends_on: date
    agreed: bool
    needs_begeleider: bool = False
    start_time: time | None = None
    host: str = "both"


@dataclass(frozen=True)
class ChecklistLine:
    """One checklist item of one holder ("pair", "A", "B", "user:<id>"), with its deadline."""

    holder: str
    key: str
    deadline: date
    ends_on: date  # the last day of its phase: after that it is no longer offered
    done: bool


@dataclass(frozen=True)
class Begeleider:
    """A begeleider of the exchange: the days they are planned for (None: every day) and
    the days they said they cannot come to, as (phase key, date)."""

    user_id: int
    name: str
    days: tuple[str, ...] | None = None
    absent: frozenset[tuple[str, date]] = frozenset()


@dataclass(frozen=True)
class Teacher:
    side: str
    name: str
    blocked: bool = False


@dataclass(frozen=True)
class IncidentState:
    id: int
    status: str  # "open" | "acknowledged" (resolved ones are not in a snapshot)
    severity: str
    created_at: datetime


@dataclass(frozen=True)
class CheckOut:
    """A begeleider's check-out of one day, and whether they noticed tension."""

    day: date
    tension: bool


@dataclass(frozen=True)
class Snapshot:
    """What the flags are computed from: plain values, loaded by the service."""

    phases: tuple[PhaseDates, ...]
    week1_end: date  # the last school day of the first week
    schools: Mapping[str, str]  # side → school name
    checklist: tuple[ChecklistLine, ...] = ()
    begeleiders: tuple[Begeleider, ...] = ()
    teachers: tuple[Teacher, ...] = ()
    incidents: tuple[IncidentState, ...] = ()
    checkouts: tuple[CheckOut, ...] = ()


@dataclass(frozen=True)
class Flag:
    """One reason a pair needs attention; `detail` holds the values its text shows:

    - dates_open: ``phases`` (tuple of Text, the days still open), ``count``;
    - overdue: ``count``, ``oldest`` (the deadline longest past, a date);
    - no_begeleider: ``phase`` (Text), ``day`` (date), ``count`` (days without one);
    - incident_open: ``count``, ``severity`` (the highest), ``since`` (the oldest, UTC);
    - teacher_missing: ``schools`` (tuple of school names without a joined teacher),
      ``blocked`` (tuple of names of teachers who blocked the bot);
    - tension: ``day`` (date), ``count`` (check-outs that reported it that day).
    """

    key: str
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    flags: tuple[Flag, ...]
    score: int


# -- the flags, one function each ------------------------------------------------------------


def dates_open(snapshot: Snapshot, today: date) -> Flag | None:
    """Days whose date is not agreed once week 1 is over (days already past are left out:
    they can no longer be agreed)."""
    if today <= snapshot.week1_end:
        return None
    still_open = [p for p in snapshot.phases if p.kind == "day" and not p.agreed]
    still_open = [p for p in still_open if p.ends_on >= today]
    if not still_open:
        return None
    return Flag(DATES_OPEN, {"phases": tuple(p.name for p in still_open), "count": len(still_open)})


def overdue(snapshot: Snapshot, today: date) -> Flag | None:
    """Open checklist items whose deadline has passed, of phases that are not over (items of
    a phase that is over are no longer offered to tick)."""
    late = [
        line
        for line in snapshot.checklist
        if not line.done and line.deadline < today and line.ends_on >= today
    ]
    if not late:
        return None
    return Flag(OVERDUE, {"count": len(late), "oldest": min(line.deadline for line in late)})


def coming(snapshot: Snapshot, phase: PhaseDates) -> list[Begeleider]:
    """The begeleiders expected on a day: planned for it, and not saying they cannot come."""
    return [
        b
        for b in snapshot.begeleiders
        if planned_for(b.days, phase.key) and (phase.key, phase.starts_on) not in b.absent
    ]


def no_begeleider(snapshot: Snapshot, today: date) -> Flag | None:
    """Days that need a begeleider, from today through the horizon, without one coming."""
    horizon = today + BEGELEIDER_HORIZON
    bare = [
        p
        for p in sorted(snapshot.phases, key=lambda p: p.starts_on)
        if p.kind == "day"
        and p.needs_begeleider
        and today <= p.starts_on <= horizon
        and not coming(snapshot, p)
    ]
    if not bare:
        return None
    first = bare[0]
    return Flag(NO_BEGELEIDER, {"phase": first.name, "day": first.starts_on, "count": len(bare)})


def incident_open(snapshot: Snapshot) -> Flag | None:
    """Incidents nobody has acknowledged yet."""
    unseen = [i for i in snapshot.incidents if i.status == "open"]
    if not unseen:
        return None
    highest = max(
        (i.severity for i in unseen),
        key=lambda s: SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else -1,
    )
    return Flag(
        INCIDENT_OPEN,
        {
            "count": len(unseen),
            "severity": highest,
            "since": min(i.created_at for i in unseen),
        },
    )


def teacher_missing(snapshot: Snapshot) -> Flag | None:
    """A class whose teacher never joined, or a teacher who blocked the bot (they get
    nothing any more)."""
    joined = {t.side for t in snapshot.teachers}
    missing = tuple(snapshot.schools[s] for s in sorted(snapshot.schools) if s not in joined)
    blocked = tuple(t.name for t in sorted(snapshot.teachers, key=lambda t: t.side) if t.blocked)
    if not missing and not blocked:
        return None
    return Flag(TEACHER_MISSING, {"schools": missing, "blocked": blocked})


def tension(snapshot: Snapshot, today: date) -> Flag | None:
    """Tension reported at a check-out of the last day anyone checked out, if that day is
    recent: a later day without tension clears it."""
    if not snapshot.checkouts:
        return None
    last = max(c.day for c in snapshot.checkouts)
    if last < today - TENSION_DAYS:
        return None
    reported = sum(1 for c in snapshot.checkouts if c.day == last and c.tension)
    if not reported:
        return None
    return Flag(TENSION, {"day": last, "count": reported})


def flags(snapshot: Snapshot, today: date) -> tuple[Flag, ...]:
    """Every flag of the pair, in the order of FLAG_KEYS."""
    found = [
        incident_open(snapshot),
        no_begeleider(snapshot, today),
        teacher_missing(snapshot),
        tension(snapshot, today),
        dates_open(snapshot, today),
        overdue(snapshot, today),
    ]
    return tuple(f for f in found if f is not None)


def score(found: Iterable[Flag], today: date) -> int:
    """Higher needs attention sooner: the flags' weights, more for more incidents, for a
    bare day that is closer, and for more overdue items."""
    total = 0
    for flag in found:
        total += WEIGHTS.get(flag.key, 0)
        detail = flag.detail
        if flag.key == INCIDENT_OPEN:
            total += 100 * (int(_number(detail.get("count"))) - 1)
        elif flag.key == NO_BEGELEIDER:
            day = detail.get("day")
            if isinstance(day, date):
                total += max(0, BEGELEIDER_HORIZON.days - (day - today).days) * 10
        elif flag.key == OVERDUE:
            total += min(int(_number(detail.get("count"))), 40)
    return total


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0


def assess(snapshot: Snapshot, today: date) -> Assessment:
    found = flags(snapshot, today)
    return Assessment(found, score(found, today))


# -- what the overview line shows besides the flags ------------------------------------------


def phase_now(phases: Sequence[PhaseDates], today: date) -> str:
    """The key of the phase whose week(s) hold `today` (timeline.current_phase), else BEFORE
    the first phase or AFTER the last."""
    planned = [
        PlannedPhase(p.key, p.kind, p.starts_on, p.ends_on, p.start_time, p.host) for p in phases
    ]
    found = current_phase(planned, today)
    if found is not None:
        return found.key
    if not phases or today < min(p.starts_on for p in phases):
        return BEFORE
    if today > max(p.ends_on for p in phases):
        return AFTER
    # Between two phases (a free week): the one coming.
    return min((p for p in phases if p.starts_on > today), key=lambda p: p.starts_on).key


def next_day(phases: Sequence[PhaseDates], today: date) -> PhaseDates | None:
    """The first day phase from `today` on."""
    days = [p for p in phases if p.kind == "day" and p.starts_on >= today]
    return min(days, key=lambda p: p.starts_on, default=None)


def progress(lines: Iterable[ChecklistLine], holders: Collection[str]) -> tuple[int, int]:
    """(done, total) of the items held by any of `holders`."""
    mine = [line for line in lines if line.holder in holders]
    return sum(1 for line in mine if line.done), len(mine)
