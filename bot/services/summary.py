"""A coordinator's own rhythm: one summary on Monday morning of the week across all their pairs.

The summary is an outbox row of its own (kind `coordinator_week`, no exchange), one per
coordinator per week, planned whenever any exchange is (re)planned: every week in which one of
the pairs they run is under way (from its first week to the week of its last day) gets one,
at 09:00, after the teachers' digests. What it says is gathered when it goes out
(`load`): the exchange days of the week, the pairs that need attention (the same flags as
/overzicht), incidents still open, messages that did not arrive, and the routine notices the
coordinator chose to gather instead of getting them one by one (`gathers`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Result, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain import risks
from bot.domain.holidays import is_public_holiday
from bot.domain.outbox import (
    COORDINATOR_WEEK,
    DATE_AGREED,
    MEMBER_JOINED,
    AgreedPayload,
    CoordinatorWeekPayload,
    MemberPayload,
    check_payload,
    read_payload,
)
from bot.domain.programme import Programme
from bot.domain.timeline import AMSTERDAM, programme_start
from bot.services import overview
from bot.services.incidents import OPEN_STATES
from bot.services.outbox import LATE_REASONS, Claimed, ReplanResult, why_not_delivered
from db.models import (
    OUTBOX_BLOCKED,
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENT,
    OUTBOX_SKIPPED,
    ROLE_BEGELEIDER,
    STATUS_ACTIVE,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    Incident,
    Membership,
    OutboxMessage,
    User,
)

# The skip reason of a routine notice kept for the Monday summary instead of sent on its own.
GATHERED = "gathered"
# Routine notices a coordinator may gather: someone joined, a date was agreed. Incidents,
# alarms and everything else always come at once.
GATHERED_KINDS = frozenset({MEMBER_JOINED, DATE_AGREED})
# A notice waits for a summary at most this long.
GATHER_HORIZON = timedelta(days=7)
# On Monday, after the teachers' digests (08:00).
SUMMARY_TIME = time(9, 0)
# How many weeks before a pair's first week its coordinator's summaries begin (invites go out
# and people join then).
LEAD_WEEKS = 3
# A summary later than this (after downtime) is dropped; the next one picks up what it held.
SUMMARY_GRACE = timedelta(hours=12)
# Messages that did not arrive are counted over the last week.
FAILURE_WINDOW = timedelta(days=7)
# Pairs needing attention listed by name; the rest are counted (/overzicht has them all).
MAX_PAIRS_LISTED = 10
# Skip reasons.
NOT_COORDINATOR = "no longer a coordinator"
NOTHING_TO_SAY = "nothing to tell"

# The planning and the sending of summaries read the time here.
_TZ = AMSTERDAM
# A pair as the summary shows it: its schools, days and people.
_LOADED = (
    selectinload(Exchange.sides).joinedload(ExchangeSide.school),
    selectinload(Exchange.phases),
    selectinload(Exchange.memberships).joinedload(Membership.user),
)


# -- planning --------------------------------------------------------------------------------


def runs(created_by: int | None, coordinator_ids: Collection[int]) -> frozenset[int]:
    """Who runs a pair: the coordinator who made it while still one, else every coordinator
    (services.exchanges.coordinators_of, for many pairs at once)."""
    if created_by is not None and created_by in coordinator_ids:
        return frozenset({created_by})
    return frozenset(coordinator_ids)


def summary_weeks(first_day: date, last_day: date, created: date | None = None) -> list[date]:
    """The Mondays of the weeks a pair from `first_day` to `last_day` needs its coordinator:
    the weeks before it starts in which people join (from the Monday after it was made, at
    most `LEAD_WEEKS` before its first week), then every week to the week of its last day."""
    monday = programme_start(first_day)
    if created is not None:
        after_creation = programme_start(created) + timedelta(days=7)
        monday = max(min(monday, after_creation), monday - timedelta(weeks=LEAD_WEEKS))
    weeks = []
    while monday <= last_day:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


@lru_cache(maxsize=1024)
def due_at(monday: date) -> datetime:
    """09:00 in Amsterdam on `monday`, or on the next school day when that is a public
    holiday (Easter Monday, Whit Monday); in UTC."""
    day = monday
    while day.weekday() >= 5 or is_public_holiday(day):
        day += timedelta(days=1)
    return datetime.combine(day, SUMMARY_TIME, tzinfo=_TZ).astimezone(UTC)


def dedupe_key(user_id: int, monday: date) -> str:
    """One summary per coordinator per week, however many pairs they run."""
    return f"{COORDINATOR_WEEK}:{user_id}:{monday.isoformat()}"


async def plan_weeks(session: AsyncSession, *, now: datetime) -> ReplanResult:
    """Bring every coordinator's future Monday summaries in line with the pairs they run.

    Called whenever an exchange is (re)planned. Who runs a pair depends on other people's
    rights too, so every coordinator's weeks are worked out again, in a constant number of
    queries: a missing week is added (two processes adding the same week add one row), a
    week no pair runs any more is cancelled, a cancelled week needed again comes back.
    Summaries already sent or settled are never touched. Returns how many rows were added,
    brought back and cancelled.
    """
    coordinator_ids = set(
        await session.scalars(
            select(User.id).where(User.is_coordinator.is_(True), User.is_group.is_(False))
        )
    )
    spans = await session.execute(
        select(
            Exchange.created_by,
            Exchange.created_at,
            func.min(ExchangePhase.starts_on),
            func.max(ExchangePhase.ends_on),
        )
        .join(ExchangePhase, ExchangePhase.exchange_id == Exchange.id)
        .where(Exchange.status == STATUS_ACTIVE)
        .group_by(Exchange.id, Exchange.created_by, Exchange.created_at)
    )
    wanted: dict[str, tuple[int, date]] = {}
    # A city's pairs share their weeks: each span's coming Mondays are worked out once.
    coming: dict[tuple[date, date, date], list[date]] = {}
    for created_by, created_at, first_day, last_day in spans:
        made_on = created_at.astimezone(_TZ).date()
        span = (first_day, last_day, made_on)
        if span not in coming:
            coming[span] = [m for m in summary_weeks(*span) if due_at(m) > now]
        for monday in coming[span]:
            for user_id in runs(created_by, coordinator_ids):
                wanted[dedupe_key(user_id, monday)] = (user_id, monday)
    pending = dict(
        (
            await session.execute(
                select(OutboxMessage.dedupe_key, OutboxMessage.id).where(
                    # Summaries belong to no exchange: the exchange index finds them among
                    # thousands of pending rows without reading those.
                    OutboxMessage.exchange_id.is_(None),
                    OutboxMessage.kind == COORDINATOR_WEEK,
                    OutboxMessage.status.in_((OUTBOX_PENDING, OUTBOX_CANCELLED)),
                )
            )
        ).all()
    )
    gone = sorted(row_id for key, row_id in pending.items() if key not in wanted)
    cancelled = revived = created = 0
    if gone:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(gone), OutboxMessage.status == OUTBOX_PENDING)
            .values(status=OUTBOX_CANCELLED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        cancelled = _count(result)
    back = sorted(row_id for key, row_id in pending.items() if key in wanted)
    if back:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(back), OutboxMessage.status == OUTBOX_CANCELLED)
            .values(status=OUTBOX_PENDING, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        revived = _count(result)
    new = [wanted[key] for key in sorted(wanted) if key not in pending]
    if new:
        created = await _insert_missing(session, new, now=now)
    return ReplanResult(created, revived, cancelled)


def _count(result: Result[Any]) -> int:
    """The rows a statement changed (an insert that skipped a duplicate does not count it)."""
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def _insert_missing(
    session: AsyncSession, weeks: Sequence[tuple[int, date]], *, now: datetime
) -> int:
    """Add these summaries unless their key exists: insert-if-absent in the database itself,
    so a replan of another pair at the same moment cannot make this one fail."""
    rows: list[dict[str, Any]] = []
    for user_id, monday in weeks:
        payload = CoordinatorWeekPayload(week=monday.isoformat())
        check_payload(COORDINATOR_WEEK, payload)
        due = due_at(monday)
        rows.append(
            {
                "user_id": user_id,
                "exchange_id": None,
                "kind": COORDINATOR_WEEK,
                "dedupe_key": dedupe_key(user_id, monday),
                "payload": dict(payload),
                "urgent": False,
                "status": OUTBOX_PENDING,
                "due_at": due,
                "not_after": due + SUMMARY_GRACE,
                "next_attempt_at": due,
                "attempts": 0,
                "uncertain_sends": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        result = await session.execute(
            pg_insert(OutboxMessage)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        result = await session.execute(
            sqlite_insert(OutboxMessage)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
    return _count(result)


# -- gathering routine notices ---------------------------------------------------------------


async def gathers(session: AsyncSession, user_id: int, kind: str, *, due_at: datetime) -> bool:
    """Whether a notice of `kind` to this user waits for their Monday summary: a coordinator
    who chose so, with a summary coming within a week of the notice (otherwise it would be
    read weeks late, or never: a join before the programme starts comes at once)."""
    if kind not in GATHERED_KINDS:
        return False
    user = await session.get(User, user_id)
    if user is None or not user.is_coordinator or not user.gather_notices:
        return False
    coming = await session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.user_id == user_id,
            OutboxMessage.kind == COORDINATOR_WEEK,
            OutboxMessage.status == OUTBOX_PENDING,
            OutboxMessage.due_at <= due_at + GATHER_HORIZON,
        )
        .limit(1)
    )
    return coming is not None


# -- what the summary says, when it goes out --------------------------------------------------


@dataclass(frozen=True)
class WeekDay:
    """An exchange day this week, and how many begeleiders are planned for it."""

    exchange: Exchange
    programme: Programme
    day: ExchangePhase
    begeleiders: int


@dataclass(frozen=True)
class Attention:
    """A pair that needs attention, with its flags as /overzicht shows them."""

    exchange: Exchange
    flags: tuple[risks.Flag, ...]


@dataclass(frozen=True)
class GatheredNotice:
    """A routine notice kept for the summary: someone joined, or a date was agreed."""

    kind: str  # MEMBER_JOINED or DATE_AGREED
    at: datetime  # when it would have come, UTC
    exchange: Exchange
    programme: Programme
    member: str | None = None  # a join: who, as what
    role: str | None = None
    side: str | None = None
    day: ExchangePhase | None = None  # an agreed date: the day as it stands now


@dataclass(frozen=True)
class Summary:
    """Everything the Monday summary says."""

    monday: date
    sent_at: datetime  # when it goes out, UTC
    days: tuple[WeekDay, ...] = ()
    attention: tuple[Attention, ...] = ()
    more_attention: int = 0  # pairs needing attention beyond those listed
    incidents: tuple[tuple[Incident, Exchange], ...] = ()
    # Messages of the coordinator's pairs that did not arrive this week, per reason
    # (outbox.why_not_delivered: blocked, too_late, quiet_hours, refused, gave_up, unwritable).
    failures: Mapping[str, int] | None = None
    gathered: tuple[GatheredNotice, ...] = ()

    def is_empty(self) -> bool:
        return not (self.days or self.attention or self.incidents or self.failures or self.gathered)


async def load(
    session: AsyncSession, row: Claimed, programmes: Mapping[str, Programme]
) -> Summary | str:
    """What the summary `row` says now, or why it is not sent (a skip reason)."""
    user = await session.get(User, row.user_id)
    if user is None or not user.is_coordinator:
        return NOT_COORDINATOR
    stored = await session.get(OutboxMessage, row.id)
    if stored is None or stored.claimed_at is None:
        return "summary gone"
    now = stored.claimed_at  # the dispatcher's clock, when it took the row
    monday = date.fromisoformat(read_payload(CoordinatorWeekPayload, row.payload)["week"])
    # The pairs the coordinator runs, with their flags, as /overzicht has them.
    statuses = await overview.lines(session, user, now=now, programmes=programmes, scope="mine")
    mine_ids = [s.id for s in statuses if s.programme_key in programmes]
    # /overzicht's lines are plain rows; the summary's days need phases and members.
    mine = list(
        await session.scalars(
            select(Exchange)
            .where(Exchange.id.in_(mine_ids))
            .options(*_LOADED)
            .order_by(Exchange.id)
        )
    )
    gathered_rows = await _gathered_rows(session, user.id, row.id)
    known = {e.id: e for e in mine}
    # A notice may be about a pair that is someone else's by now: it is listed all the same.
    missing = {r.exchange_id for r in gathered_rows if r.exchange_id is not None} - set(known)
    if missing:
        for e in await session.scalars(
            select(Exchange).where(Exchange.id.in_(missing)).options(*_LOADED)
        ):
            known[e.id] = e
    attention = [
        Attention(known[s.id], s.flags)
        for s in overview.sort_by_risk(statuses)
        if s.flags and s.id in known
    ]
    summary = Summary(
        monday=monday,
        sent_at=now,
        days=_days(mine, programmes, monday),
        attention=tuple(attention[:MAX_PAIRS_LISTED]),
        more_attention=max(0, len(attention) - MAX_PAIRS_LISTED),
        incidents=await _open_incidents(session, known, mine_ids),
        failures=await _failures(session, mine_ids, now=now),
        gathered=await _gathered(session, gathered_rows, known, programmes),
    )
    return NOTHING_TO_SAY if summary.is_empty() else summary


def _days(
    mine: Iterable[Exchange], programmes: Mapping[str, Programme], monday: date
) -> tuple[WeekDay, ...]:
    """The exchange days of the week (Monday to Sunday), in date order."""
    found = []
    for exchange in mine:
        programme = programmes[exchange.programme_key]
        for row in exchange.phases:
            phase = programme.phase(row.phase_key)
            if phase.kind != "day" or not monday <= row.starts_on < monday + timedelta(days=7):
                continue
            planned = sum(
                1
                for m in exchange.memberships
                if m.role == ROLE_BEGELEIDER and risks.planned_for(m.days, row.phase_key)
            )
            found.append(WeekDay(exchange, programme, row, planned))
    found.sort(key=lambda d: (d.day.starts_on, d.day.start_time or time(0), d.exchange.id))
    return tuple(found)


async def _open_incidents(
    session: AsyncSession, known: Mapping[int, Exchange], exchange_ids: Sequence[int]
) -> tuple[tuple[Incident, Exchange], ...]:
    """Incidents of the pairs not solved yet, oldest first."""
    if not exchange_ids:
        return ()
    rows = await session.scalars(
        select(Incident)
        .where(Incident.exchange_id.in_(exchange_ids), Incident.status.in_(OPEN_STATES))
        .order_by(Incident.created_at, Incident.id)
    )
    return tuple((incident, known[incident.exchange_id]) for incident in rows)


async def _failures(
    session: AsyncSession, exchange_ids: Sequence[int], *, now: datetime
) -> dict[str, int]:
    """How many messages of the pairs did not arrive in the last week, per reason."""
    if not exchange_ids:
        return {}
    rows = await session.execute(
        select(OutboxMessage.status, OutboxMessage.last_error, func.count())
        .where(
            OutboxMessage.exchange_id.in_(exchange_ids),
            OutboxMessage.updated_at >= now - FAILURE_WINDOW,
            (OutboxMessage.status.in_((OUTBOX_FAILED, OUTBOX_BLOCKED)))
            | (
                (OutboxMessage.status == OUTBOX_SKIPPED)
                & OutboxMessage.last_error.in_(LATE_REASONS)
            ),
        )
        .group_by(OutboxMessage.status, OutboxMessage.last_error)
    )
    counts: Counter[str] = Counter()
    for status, error, n in rows:
        counts[why_not_delivered(OutboxMessage(status=status, last_error=error))] += int(n)
    return dict(counts)


async def _gathered_rows(
    session: AsyncSession, user_id: int, summary_id: int
) -> list[OutboxMessage]:
    """The notices gathered since the last summary that went out (all of them before the
    first): each is listed once, in the first summary sent after it."""
    previous = await session.scalar(
        select(func.max(OutboxMessage.claimed_at)).where(
            OutboxMessage.user_id == user_id,
            OutboxMessage.kind == COORDINATOR_WEEK,
            OutboxMessage.status == OUTBOX_SENT,
            OutboxMessage.id != summary_id,
        )
    )
    query = select(OutboxMessage).where(
        OutboxMessage.user_id == user_id,
        OutboxMessage.kind.in_(GATHERED_KINDS),
        OutboxMessage.status == OUTBOX_SKIPPED,
        OutboxMessage.last_error == GATHERED,
    )
    if previous is not None:
        query = query.where(OutboxMessage.updated_at >= previous)
    return list(await session.scalars(query.order_by(OutboxMessage.due_at, OutboxMessage.id)))


async def _gathered(
    session: AsyncSession,
    rows: Sequence[OutboxMessage],
    known: Mapping[int, Exchange],
    programmes: Mapping[str, Programme],
) -> tuple[GatheredNotice, ...]:
    """The gathered notices as they read now; a date agreed more than once is listed once, as
    it stands now."""
    member_ids = {
        read_payload(MemberPayload, r.payload)["user"] for r in rows if r.kind == MEMBER_JOINED
    }
    names = (
        dict(
            (
                await session.execute(
                    select(User.id, User.display_name).where(User.id.in_(member_ids))
                )
            ).all()
        )
        if member_ids
        else {}
    )
    notices: list[GatheredNotice] = []
    agreed_seen: set[tuple[int, str]] = set()
    for row in reversed(rows):  # newest first, so a day agreed twice keeps its last notice
        exchange = known.get(row.exchange_id) if row.exchange_id is not None else None
        if exchange is None or exchange.programme_key not in programmes:
            continue
        programme = programmes[exchange.programme_key]
        if row.kind == MEMBER_JOINED:
            joined = read_payload(MemberPayload, row.payload)
            notices.append(
                GatheredNotice(
                    MEMBER_JOINED,
                    row.due_at,
                    exchange,
                    programme,
                    member=names.get(joined["user"], "?"),
                    role=joined["role"],
                    side=joined["side"],
                )
            )
            continue
        phase_key = read_payload(AgreedPayload, row.payload)["phase"]
        day = next((p for p in exchange.phases if p.phase_key == phase_key), None)
        if day is None or (exchange.id, phase_key) in agreed_seen:
            continue
        agreed_seen.add((exchange.id, phase_key))
        notices.append(GatheredNotice(DATE_AGREED, row.due_at, exchange, programme, day=day))
    notices.reverse()
    return tuple(notices)
