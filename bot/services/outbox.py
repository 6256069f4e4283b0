"""The outbox: every push the bot makes is a row, planned from the exchange's state.

Planning is pure (bot/domain/outbox.py); this module reconciles the plan with the stored
rows and hands due rows to the dispatcher. Claiming commits before anything is sent, so a
restart neither loses a row nor sends it twice; on PostgreSQL claims skip rows another
process has locked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from bot.clock import Clock
from bot.domain.checkins import plan_checkin_checks
from bot.domain.outbox import (
    DATE_AGREED,
    DATE_DECLINED,
    DATE_PROPOSAL,
    INCIDENT_KINDS,
    INCIDENT_VALIDITY,
    PLANNED_KINDS,
    QUIET_TOO_LATE,
    REPORTER_NOTICES,
    UNDELIVERED,
    UNDELIVERED_VALIDITY,
    USER_BACK,
    USER_BLOCKED,
    AgreedPayload,
    ExchangeSnapshot,
    IncidentActionPayload,
    IncidentPayload,
    Member,
    MemberPayload,
    Payload,
    PhaseDates,
    PlannedMessage,
    ProposalPayload,
    Rules,
    UndeliveredPayload,
    catch_up,
    check_payload,
    end_of_day_utc,
    plan_messages,
    read_payload,
    waits_until,
    who_is_told,
)
from bot.domain.programme import Programme
from bot.domain.timeline import AMSTERDAM
from bot.services.exchanges import label
from db.bulk import insert_rows
from db.models import (
    OUTBOX_BLOCKED,
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OUTBOX_SKIPPED,
    STATUS_ACTIVE,
    DateProposal,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    GroupLink,
    Incident,
    IncidentAction,
    Membership,
    OutboxMessage,
    SchoolHoliday,
    User,
)
from db.session import Database

# A row claimed longer ago than this belongs to a process that died while sending it.
CLAIM_LEASE = timedelta(minutes=2)
# A send whose outcome is unknown (Telegram may have delivered it) is tried again once: the
# second uncertain outcome ends the row as sent-but-unconfirmed, so one message can show up
# at most twice, and a message that may have arrived is never reported as failed.
MAX_UNCERTAIN_SENDS = 2
# How long a message between people waits by default when its subject gives no deadline.
DEFAULT_VALIDITY = timedelta(days=2)
# Reasons a row was not delivered, as given to the person who is told.
REASON_TOO_LATE = "too_late"
REASON_FAILED = "failed"
REASON_BLOCKED = "blocked"
# last_error of a row whose text could not be written.
RENDER_ERROR = "render: "
# What last_error says on a row whose user blocked the bot.
BLOCKED_ERROR = "user has blocked the bot"
# last_error of a row that failed because every retry failed (not refused outright).
GAVE_UP = "gave up after retries: "
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=8),
    timedelta(minutes=30),
    timedelta(hours=2),
)


async def holidays_for(session: AsyncSession, region: str | None) -> tuple[tuple[date, date], ...]:
    """The school holiday periods of a region (none while the region is unknown)."""
    if region is None:
        return ()
    rows = await session.execute(
        select(SchoolHoliday.starts_on, SchoolHoliday.ends_on)
        .where(SchoolHoliday.region == region)
        .order_by(SchoolHoliday.starts_on)
    )
    return tuple((start, end) for start, end in rows)


async def _holidays_of(
    session: AsyncSession, regions: set[str | None]
) -> dict[str | None, tuple[tuple[date, date], ...]]:
    """`holidays_for` of several regions, in one query."""
    found: dict[str | None, list[tuple[date, date]]] = {region: [] for region in regions}
    known = {region for region in regions if region is not None}
    if known:
        rows = await session.execute(
            select(SchoolHoliday.region, SchoolHoliday.starts_on, SchoolHoliday.ends_on)
            .where(SchoolHoliday.region.in_(known))
            .order_by(SchoolHoliday.region, SchoolHoliday.starts_on)
        )
        for region, start, end in rows:
            found[region].append((start, end))
    return {region: tuple(periods) for region, periods in found.items()}


async def delivery_time(
    session: AsyncSession,
    exchange_id: int | None,
    *,
    now: datetime,
    rules: Rules,
    urgent: bool = False,
) -> datetime | None:
    """When a message about the exchange queued `now` goes out; None when it goes out at once.

    The rules claim_due applies: a message that can wait is held in quiet hours, at weekends,
    on public holidays and in the exchange's school holidays, until the next allowed moment.
    A sender is told that moment, so "verstuurd" is never said of a message still waiting.
    """
    if urgent:
        return None
    region = (
        await session.scalar(select(Exchange.region).where(Exchange.id == exchange_id))
        if exchange_id is not None
        else None
    )
    return waits_until(now, rules, await holidays_for(session, region))


@dataclass(frozen=True)
class _ExchangeRow:
    """The columns of an exchange that planning needs."""

    id: int
    programme_key: str
    status: str
    region: str | None


async def _snapshots(
    session: AsyncSession,
    exchanges: Sequence[_ExchangeRow],
    programmes: Mapping[str, Programme],
) -> dict[int, ExchangeSnapshot]:
    """The exchanges as planning sees them, in one query per table whatever their number,
    read column by column (no whole rows)."""
    ids = [exchange.id for exchange in exchanges]
    phases: dict[int, list[PhaseDates]] = {i: [] for i in ids}
    for exchange_id, key, starts_on, ends_on, start_time, host, agreed in await session.execute(
        select(
            ExchangePhase.exchange_id,
            ExchangePhase.phase_key,
            ExchangePhase.starts_on,
            ExchangePhase.ends_on,
            ExchangePhase.start_time,
            ExchangePhase.host,
            ExchangePhase.agreed,
        )
        .where(ExchangePhase.exchange_id.in_(ids))
        .order_by(ExchangePhase.starts_on, ExchangePhase.id)
    ):
        phases[exchange_id].append(
            PhaseDates(
                key=key,
                starts_on=starts_on,
                ends_on=ends_on,
                start_time=start_time,
                host=host,
                agreed=agreed,
            )
        )
    members: dict[int, list[Member]] = {i: [] for i in ids}
    for exchange_id, user_id, role, side, days in await session.execute(
        select(
            Membership.exchange_id,
            Membership.user_id,
            Membership.role,
            Membership.side,
            Membership.days,
        )
        .where(Membership.exchange_id.in_(ids))
        .order_by(Membership.id)
    ):
        members[exchange_id].append(
            Member(user_id, role, side, tuple(days) if days is not None else None)
        )
    groups: dict[int, list[int]] = {i: [] for i in ids}
    for exchange_id, chat_id in await session.execute(
        select(GroupLink.exchange_id, GroupLink.chat_id)
        .where(GroupLink.exchange_id.in_(ids))
        .order_by(GroupLink.chat_id)
    ):
        groups[exchange_id].append(chat_id)
    regions = sorted({e.region for e in exchanges if e.region is not None})
    holidays: dict[str, list[tuple[date, date]]] = {region: [] for region in regions}
    if regions:
        for region, starts_on, ends_on in await session.execute(
            select(SchoolHoliday.region, SchoolHoliday.starts_on, SchoolHoliday.ends_on)
            .where(SchoolHoliday.region.in_(regions))
            .order_by(SchoolHoliday.starts_on)
        ):
            holidays[region].append((starts_on, ends_on))
    return {
        exchange.id: ExchangeSnapshot(
            id=exchange.id,
            programme=programmes[exchange.programme_key],
            active=exchange.status == STATUS_ACTIVE,
            phases=tuple(phases[exchange.id]),
            members=tuple(members[exchange.id]),
            school_holidays=tuple(holidays[exchange.region]) if exchange.region else (),
            groups=tuple(groups[exchange.id]),
        )
        for exchange in exchanges
    }


@dataclass(frozen=True)
class ReplanResult:
    created: int
    updated: int
    cancelled: int


# The columns of a stored planned row that reconciling needs (never the whole row).
_STORED = (
    OutboxMessage.id,
    OutboxMessage.exchange_id,
    OutboxMessage.dedupe_key,
    OutboxMessage.status,
    OutboxMessage.due_at,
    OutboxMessage.not_after,
    OutboxMessage.next_attempt_at,
    OutboxMessage.attempts,
    OutboxMessage.payload,
)


async def replan_exchange(
    session: AsyncSession,
    exchange_id: int,
    programmes: Mapping[str, Programme],
    rules: Rules,
    *,
    now: datetime,
    weeks: bool = True,
) -> ReplanResult:
    """Bring the exchange's planned rows in line with its state.

    Pending rows that no longer fit are cancelled, new ones created, changed ones moved.
    Rows already sent (or otherwise finished) are never touched, so nothing goes out twice.
    Only planned kinds are reconciled; immediate messages (proposals, alerts) are left alone.

    `weeks=False` leaves the coordinators' Monday summaries alone: whoever re-plans many
    exchanges calls `summary.plan_weeks` once afterwards, since it works out every week anew.
    """
    result = (await _replan_batch(session, [exchange_id], programmes, rules, now=now)).get(
        exchange_id, ReplanResult(0, 0, 0)
    )
    if not weeks:
        return result
    from bot.services import summary  # imports this module

    summaries = await summary.plan_weeks(session, now=now)  # the coordinators' Monday summaries
    return ReplanResult(
        result.created + summaries.created,
        result.updated + summaries.updated,
        result.cancelled + summaries.cancelled,
    )


async def _replan_batch(
    session: AsyncSession,
    exchange_ids: Sequence[int],
    programmes: Mapping[str, Programme],
    rules: Rules,
    *,
    now: datetime,
) -> dict[int, ReplanResult]:
    """`replan_exchange` for several exchanges at once, without the Monday summaries: the
    state and the stored rows of all of them are read in a few queries, the rows compared by
    key, and the changes written in one statement per kind of change. Returns what changed
    per exchange found."""
    exchanges = [
        _ExchangeRow(*found)
        for found in await session.execute(
            select(Exchange.id, Exchange.programme_key, Exchange.status, Exchange.region)
            .where(Exchange.id.in_(exchange_ids))
            .order_by(Exchange.id)
            # On PostgreSQL two planners of one exchange (a handler, the start-up re-plan)
            # take turns: the second reads what the first wrote, and never adds its rows
            # twice. NO KEY: rows that merely refer to the exchange are not held up.
            .with_for_update(key_share=True)
        )
    ]
    if not exchanges:
        return {}
    # An archived exchange needs nothing (plan_messages and the check-ins say so too): its
    # pending rows are cancelled without reading its phases and members.
    planning = [e for e in exchanges if e.status == STATUS_ACTIVE and e.programme_key in programmes]
    plans: dict[int, list[PlannedMessage]] = {e.id: [] for e in exchanges}
    if planning:
        coordinators = list(
            await session.scalars(
                select(User.id).where(User.is_coordinator.is_(True), User.active.is_(True))
            )
        )
        for exchange_id, state in (await _snapshots(session, planning, programmes)).items():
            plans[exchange_id] = plan_messages(state, rules) + plan_checkin_checks(
                state, coordinators, tz=rules.tz, lead=rules.checkin_lead
            )
    stored: dict[int, list[Any]] = {e.id: [] for e in exchanges}
    for row in await session.execute(
        select(*_STORED)
        .where(OutboxMessage.exchange_id.in_(plans), OutboxMessage.kind.in_(PLANNED_KINDS))
        .order_by(OutboxMessage.id)
        .with_for_update()
    ):
        stored[row.exchange_id].append(row)
    gone: list[int] = []
    new: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    results: dict[int, ReplanResult] = {}
    for exchange_id, plan in plans.items():
        counts = (len(new), len(moved), len(gone))
        _reconcile(plan, stored[exchange_id], now=now, new=new, moved=moved, gone=gone)
        results[exchange_id] = ReplanResult(
            len(new) - counts[0], len(moved) - counts[1], len(gone) - counts[2]
        )
    if gone:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(gone))
            .values(status=OUTBOX_CANCELLED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        _loaded_follow(
            session, [{"id": i, "status": OUTBOX_CANCELLED, "updated_at": now} for i in gone]
        )
    if moved:
        await session.execute(update(OutboxMessage), moved)
        _loaded_follow(session, moved)
    if new:
        # Not the ORM: the rows need no objects, and thousands are written at once.
        await insert_rows(session, cast(Table, OutboxMessage.__table__), new)
    return results


def _reconcile(
    plan: Sequence[PlannedMessage],
    stored: Sequence[Any],
    *,
    now: datetime,
    new: list[dict[str, Any]],
    moved: list[dict[str, Any]],
    gone: list[int],
) -> None:
    """Compare one exchange's plan with its stored rows by key; add what to write to `new`
    (rows to insert), `moved` (rows to change, by id) and `gone` (ids to cancel)."""
    wanted = {p.dedupe_key: p for p in plan if p.not_after >= now}
    # A row still in the plan whose time is over is not "no longer wanted": it stays for the
    # dispatcher, which settles it as too late where coordinators can see it (and, for a
    # day's schedule, tells them). Only rows the plan no longer has are cancelled.
    planned = {p.dedupe_key for p in plan}
    existing = {row.dedupe_key: row for row in stored}
    gone += (
        row.id for row in stored if row.dedupe_key not in planned and row.status == OUTBOX_PENDING
    )
    for key, push in wanted.items():
        row = existing.get(key)
        if row is None:
            new.append(
                _row_values(
                    user_id=push.user_id,
                    exchange_id=push.exchange_id,
                    kind=push.kind,
                    dedupe_key=key,
                    payload=push.payload,
                    due_at=push.due_at,
                    not_after=push.not_after,
                    now=now,
                )
            )
        elif row.status in (OUTBOX_PENDING, OUTBOX_CANCELLED) and (
            row.status == OUTBOX_CANCELLED
            or row.due_at != push.due_at
            or row.not_after != push.not_after
            or row.payload != push.payload
        ):
            # A cancelled row that fits again (a date moved back) is revived, not duplicated.
            moved.append(
                {
                    "id": row.id,
                    "status": OUTBOX_PENDING,
                    "due_at": push.due_at,
                    "not_after": push.not_after,
                    "next_attempt_at": (
                        max(push.due_at, row.next_attempt_at) if row.attempts else push.due_at
                    ),
                    "payload": dict(push.payload),
                    "updated_at": now,
                }
            )


log = logging.getLogger(__name__)

# Exchanges re-planned per write transaction when many are (at start-up, after a holiday
# import): each transaction lasts tens of milliseconds, so people's writes wait no longer.
REPLAN_CHUNK = 20
# Tries of one chunk before re-planning many exchanges gives up.
CHUNK_ATTEMPTS = 3


@dataclass(frozen=True)
class BulkReplan:
    """What re-planning many exchanges did, and how long it held the database."""

    exchanges: int
    changed: int  # exchanges with a row added, moved or cancelled
    rows: ReplanResult  # the Monday summaries included
    seconds: float
    busy: float  # seconds inside write transactions (the rest is pauses for other writers)
    longest_write: float  # seconds, the longest write transaction


async def replan_many(
    database: Database,
    exchange_ids: Sequence[int],
    programmes: Mapping[str, Programme],
    rules: Rules,
    *,
    clock: Clock,
    chunk: int = REPLAN_CHUNK,
) -> BulkReplan:
    """Re-plan these exchanges `chunk` at a time, each chunk in its own write transaction,
    then the coordinators' Monday summaries once.

    After each chunk the planner waits as long as the chunk took, so on SQLite another
    writer (a handler, the dispatcher, another process) waiting for the lock gets it: the
    planner never holds the database more than half the time. An exchange changed meanwhile
    is simply planned from its newer state.
    """
    began = time.monotonic()
    changed = created = updated = cancelled = 0
    busy = longest = 0.0
    size = max(1, chunk)
    for start in range(0, len(exchange_ids), size):
        opened = time.monotonic()
        for attempt in range(1, CHUNK_ATTEMPTS + 1):
            try:
                async with database.write() as session:
                    results = await _replan_batch(
                        session,
                        exchange_ids[start : start + size],
                        programmes,
                        rules,
                        now=clock.now(),
                    )
                break
            except DBAPIError as error:
                # A deadlock or a lock held too long is no reason to leave the other
                # exchanges unplanned: the chunk rolled back, and is planned again.
                if attempt == CHUNK_ATTEMPTS:
                    raise
                log.warning("Re-planning exchanges failed (%s); trying again", error.orig)
                await asyncio.sleep(attempt)
        for result in results.values():
            changed += bool(result.created or result.updated or result.cancelled)
            created += result.created
            updated += result.updated
            cancelled += result.cancelled
        held = time.monotonic() - opened
        busy += held
        longest = max(longest, held)
        await asyncio.sleep(held)
    from bot.services import summary  # imports this module

    opened = time.monotonic()
    async with database.write() as session:
        weeks = await summary.plan_weeks(session, now=clock.now())
    held = time.monotonic() - opened
    busy += held
    longest = max(longest, held)
    return BulkReplan(
        exchanges=len(exchange_ids),
        changed=changed,
        rows=ReplanResult(
            created + weeks.created, updated + weeks.updated, cancelled + weeks.cancelled
        ),
        seconds=time.monotonic() - began,
        busy=busy,
        longest_write=longest,
    )


def _loaded_follow(session: AsyncSession, changes: Sequence[Mapping[str, Any]]) -> None:
    """Rows this session had already loaded take the values just written, as if read again:
    a caller that looks at them after re-planning sees what the database holds."""
    identities = session.sync_session.identity_map
    for change in changes:
        loaded = identities.get(identity_key(OutboxMessage, change["id"]))
        if loaded is None:
            continue
        for name, value in change.items():
            if name != "id":
                set_committed_value(loaded, name, value)


def _row_values(
    *,
    user_id: int,
    exchange_id: int | None,
    kind: str,
    dedupe_key: str,
    payload: Payload,
    due_at: datetime,
    not_after: datetime,
    now: datetime,
    urgent: bool = False,
) -> dict[str, Any]:
    """The columns of a new pending row, its payload checked against its kind."""
    check_payload(kind, payload)
    return {
        "user_id": user_id,
        "exchange_id": exchange_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": dict(payload),
        "urgent": urgent,
        "status": OUTBOX_PENDING,
        "due_at": due_at,
        "not_after": not_after,
        "next_attempt_at": due_at,
        "attempts": 0,
        "uncertain_sends": 0,
        "sender_id": None,
        "created_at": now,
        "updated_at": now,
    }


def _new_row(
    *,
    user_id: int,
    exchange_id: int | None,
    kind: str,
    dedupe_key: str,
    payload: Payload,
    due_at: datetime,
    not_after: datetime,
    now: datetime,
    urgent: bool = False,
) -> OutboxMessage:
    return OutboxMessage(
        **_row_values(
            user_id=user_id,
            exchange_id=exchange_id,
            kind=kind,
            dedupe_key=dedupe_key,
            payload=payload,
            due_at=due_at,
            not_after=not_after,
            now=now,
            urgent=urgent,
        )
    )


async def enqueue(
    session: AsyncSession,
    *,
    user_id: int,
    exchange_id: int | None,
    kind: str,
    dedupe_key: str,
    payload: Payload,
    now: datetime,
    not_after: datetime | None = None,
    urgent: bool = False,
    sender_id: int | None = None,
    tz: ZoneInfo = AMSTERDAM,
) -> OutboxMessage | None:
    """Queue a message to go out as soon as allowed; None if that key was queued before.

    A message between people stays valid as long as its subject does (a date proposal until
    its day is over), whatever `not_after` the caller guessed; `sender_id` (found from the
    subject when not given) is who hears if it cannot be delivered.
    """
    exists = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    if exists is not None:
        return None
    subject_end = await _subject_deadline(
        session, kind, payload, exchange_id, now=now, given=not_after, tz=tz
    )
    row = _new_row(
        user_id=user_id,
        exchange_id=exchange_id,
        kind=kind,
        dedupe_key=dedupe_key,
        payload=payload,
        due_at=now,
        not_after=subject_end or not_after or now + DEFAULT_VALIDITY,
        now=now,
        urgent=urgent,
    )
    row.sender_id = sender_id
    if sender_id is None and who_is_told(kind) == "sender":
        row.sender_id = await _derived_sender(session, kind, payload)
    session.add(row)
    await session.flush()
    return row


async def tell(
    session: AsyncSession,
    user_ids: Iterable[int],
    *,
    exchange_id: int | None,
    kind: str,
    payload: Payload,
    dedupe_key: Callable[[int], str],
    now: datetime,
    not_after: datetime | None = None,
    urgent: bool = False,
    sender_id: int | None = None,
) -> None:
    """Queue the same message for each of `user_ids`, in that order (see `enqueue`).

    `dedupe_key` gives each recipient's key, so telling someone twice queues it once.
    """
    for user_id in user_ids:
        await enqueue(
            session,
            user_id=user_id,
            exchange_id=exchange_id,
            kind=kind,
            dedupe_key=dedupe_key(user_id),
            payload=payload,
            now=now,
            not_after=not_after,
            urgent=urgent,
            sender_id=sender_id,
        )


async def _phase_day(session: AsyncSession, exchange_id: int | None, phase_key: str) -> date | None:
    if exchange_id is None:
        return None
    return await session.scalar(
        select(ExchangePhase.starts_on).where(
            ExchangePhase.exchange_id == exchange_id, ExchangePhase.phase_key == phase_key
        )
    )


async def _subject_deadline(
    session: AsyncSession,
    kind: str,
    payload: Payload,
    exchange_id: int | None,
    *,
    now: datetime,
    given: datetime | None,
    tz: ZoneInfo,
) -> datetime | None:
    """Until when a message between people is worth delivering, from what it is about.

    A proposal can be agreed until its day is over; news that a date is fixed or declined
    matters until that day has passed; an incident for a week. None: no rule for this kind.
    """
    day: date | None = None
    if kind == DATE_PROPOSAL:
        proposal_id = read_payload(ProposalPayload, payload)["proposal"]
        proposal = await session.get(DateProposal, proposal_id)
        day = proposal.day if proposal is not None else None
    elif kind in (DATE_AGREED, DATE_DECLINED):
        phase_key = read_payload(AgreedPayload, payload)["phase"]
        day = await _phase_day(session, exchange_id, phase_key)
    elif kind in INCIDENT_KINDS:
        return max(given or now, now + INCIDENT_VALIDITY)
    else:
        return None
    if day is None:
        return None
    end = end_of_day_utc(day, tz)
    # A subject already over still gets its short default chance, so nothing is refused
    # at the moment it is queued.
    return end if end > now else now + DEFAULT_VALIDITY


async def _derived_sender(session: AsyncSession, kind: str, payload: Payload) -> int | None:
    """Who a message between people is from, when the caller did not say."""
    if kind == DATE_PROPOSAL:
        proposal_id = read_payload(ProposalPayload, payload)["proposal"]
        proposal = await session.get(DateProposal, proposal_id)
        return proposal.proposed_by if proposal is not None else None
    if kind in REPORTER_NOTICES:
        action_id = read_payload(IncidentActionPayload, payload)["action"]
        action = await session.get(IncidentAction, action_id)
        return action.user_id if action is not None else None
    if kind in INCIDENT_KINDS:
        incident_id = read_payload(IncidentPayload, payload)["incident"]
        incident = await session.get(Incident, incident_id)
        return incident.reported_by if incident is not None else None
    return None


async def _tell_undelivered(
    session: AsyncSession, row: OutboxMessage, reason: str, *, now: datetime
) -> list[int]:
    """Queue a notice for whoever must know that `row` will not reach its recipient.

    The sender of a message between people; for a planned push that matters (a day's
    schedule, a missing check-in) and for a message whose sender is unknown, the exchange's
    coordinator. Routine pushes and these notices themselves tell nobody. Returns who is told.
    """
    whom = who_is_told(row.kind)
    if whom is None or row.kind == UNDELIVERED:
        return []
    targets: list[int] = []
    if whom == "sender" and row.sender_id is not None:
        targets = [row.sender_id]
    if not targets and row.exchange_id is not None:
        from bot.services.exchanges import coordinators_of

        exchange = await session.get(Exchange, row.exchange_id)
        if exchange is not None:
            targets = [u.id for u in await coordinators_of(session, exchange)]
    told = [target for target in targets if target != row.user_id]
    await tell(
        session,
        told,
        exchange_id=row.exchange_id,
        kind=UNDELIVERED,
        payload=UndeliveredPayload(
            row=row.id, kind=row.kind, to=row.user_id, reason=reason, about=dict(row.payload)
        ),
        dedupe_key=lambda target: f"undelivered:{row.id}:{target}",
        now=now,
        not_after=now + UNDELIVERED_VALIDITY,
        urgent=row.urgent,
    )
    return told


async def _settle(
    session: AsyncSession, row: OutboxMessage, status: str, error: str, *, now: datetime
) -> list[int]:
    """End a row without delivering it, and tell who must know (see _tell_undelivered)."""
    row.status = status
    row.last_error = error[:500]
    row.updated_at = now
    reason = {OUTBOX_BLOCKED: REASON_BLOCKED, OUTBOX_FAILED: REASON_FAILED}.get(
        status, REASON_TOO_LATE
    )
    return await _tell_undelivered(session, row, reason, now=now)


def _unconfirmed(row: OutboxMessage, error: str, *, now: datetime) -> None:
    """The row may have been delivered: it ends as sent, with why it is not certain."""
    row.status = OUTBOX_SENT
    row.sent_at = now
    row.updated_at = now
    row.last_error = f"delivery not confirmed: {error}"[:500]


@dataclass(frozen=True)
class Claimed:
    id: int
    user_id: int
    exchange_id: int | None
    kind: str
    payload: dict[str, Any]
    late: bool
    language: str
    due_at: datetime  # when it was planned for
    urgent: bool = False  # an alarm: goes before bulk sends


@dataclass(frozen=True)
class Claims:
    to_send: list[Claimed]
    examined: int


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    rules: Rules,
) -> Claims:
    """Look at up to `limit` due rows and mark those to send now; commit before sending.

    Rows that are too late, or that must wait for the end of quiet hours, are settled here
    without being sent. A row for a user who blocked the bot is settled as blocked at the
    moment it would otherwise have gone out (so whoever must know hears it then, not
    earlier); until then it waits, and goes out as usual if the user writes again first.

    Rows left in "sending" by a process that died are claimed again once their lease has
    run out: such a row was most likely never delivered (the window between Telegram's
    answer and marking the row is a quarter of a second at most, jobs.outbox's
    MARK_SENT_SECONDS), so it is sent rather than lost.
    """
    stale = now - CLAIM_LEASE
    rows = list(
        await session.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    (OutboxMessage.status == OUTBOX_PENDING)
                    & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == OUTBOX_SENDING) & (OutboxMessage.claimed_at < stale),
                )
            )
            # Alarms first: after downtime an incident must not wait behind old digests.
            .order_by(OutboxMessage.urgent.desc(), OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return Claims([], 0)
    users = {
        u.id: u
        for u in await session.scalars(select(User).where(User.id.in_({r.user_id for r in rows})))
    }
    regions = dict(
        (
            await session.execute(
                select(Exchange.id, Exchange.region).where(
                    Exchange.id.in_({r.exchange_id for r in rows if r.exchange_id is not None})
                )
            )
        ).all()
    )
    holidays_by_region = await _holidays_of(session, set(regions.values()))
    claimed: list[Claimed] = []
    for row in rows:
        row.updated_at = now
        if row.status == OUTBOX_SENDING:
            # Its process died after claiming it: it may have been sent. That is an
            # uncertain send like a timeout, and is tried again at most once.
            row.uncertain_sends += 1
            if row.uncertain_sends >= MAX_UNCERTAIN_SENDS:
                _unconfirmed(row, "the sending process stopped", now=now)
                continue
        user = users.get(row.user_id)
        if user is None:
            await _settle(session, row, OUTBOX_BLOCKED, BLOCKED_ERROR, now=now)
            continue
        blocked = user.blocked_at is not None
        decision = catch_up(row.kind, row.due_at, row.not_after, now)
        if not decision.send:
            if blocked:
                await _settle(session, row, OUTBOX_BLOCKED, BLOCKED_ERROR, now=now)
            else:
                reason = decision.reason or "too_late"
                await _settle(session, row, OUTBOX_SKIPPED, reason, now=now)
            continue
        holidays = holidays_by_region.get(regions.get(row.exchange_id or 0), ())
        later = waits_until(now, rules, holidays, urgent=row.urgent)
        if later is not None:
            if later <= row.not_after:
                row.status = OUTBOX_PENDING
                row.next_attempt_at = later
            elif blocked:
                await _settle(session, row, OUTBOX_BLOCKED, BLOCKED_ERROR, now=now)
            else:
                await _settle(session, row, OUTBOX_SKIPPED, QUIET_TOO_LATE, now=now)
            continue
        if blocked:
            await _settle(session, row, OUTBOX_BLOCKED, BLOCKED_ERROR, now=now)
            continue
        row.status = OUTBOX_SENDING
        row.claimed_at = now
        row.attempts += 1
        claimed.append(
            Claimed(
                row.id,
                row.user_id,
                row.exchange_id,
                row.kind,
                dict(row.payload),
                decision.late,
                user.language,
                row.due_at,
                row.urgent,
            )
        )
    await session.flush()
    return Claims(claimed, len(rows))


async def release(session: AsyncSession, row_ids: Sequence[int], *, now: datetime) -> None:
    """Put claimed rows whose sending never began back in the queue, as if never claimed."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == OUTBOX_SENDING)
        .values(
            status=OUTBOX_PENDING,
            claimed_at=None,
            attempts=OutboxMessage.attempts - 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class SentMark:
    """A row Telegram accepted: when, as which message, and whether its text is a caption."""

    row_id: int
    at: datetime
    message_id: int | None
    as_caption: bool | None = None


_OUTBOX_TABLE = cast(Table, OutboxMessage.__table__)
_MARK_SENT = (
    update(_OUTBOX_TABLE)
    .where(_OUTBOX_TABLE.c.id == bindparam("row_id"))
    .values(
        status=OUTBOX_SENT,
        sent_at=bindparam("at"),
        updated_at=bindparam("at"),
        telegram_message_id=bindparam("message_id"),
        sent_as_caption=bindparam("as_caption"),
        last_error=None,
    )
)


async def mark_all_sent(session: AsyncSession, marks: Sequence[SentMark]) -> None:
    """Mark rows sent, all in one statement run for each (the dispatcher's batches)."""
    if not marks:
        return
    await session.execute(
        _MARK_SENT,
        [
            {
                "row_id": m.row_id,
                "at": m.at,
                "message_id": m.message_id,
                "as_caption": m.as_caption,
            }
            for m in marks
        ],
    )


async def mark_sent(
    session: AsyncSession,
    row_id: int,
    *,
    now: datetime,
    message_id: int | None,
    as_caption: bool | None = None,
) -> None:
    await mark_all_sent(session, [SentMark(row_id, now, message_id, as_caption)])


async def mark_uncertain(
    session: AsyncSession, row_id: int, error: str, *, now: datetime, max_attempts: int
) -> str:
    """A send whose outcome is unknown: try once more, or end it as sent-but-unconfirmed.

    Counted on the row (uncertain_sends, shown in /berichten). Never marked failed: the
    message may well have arrived.
    """
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is None:
        return OUTBOX_FAILED
    row.uncertain_sends += 1
    if row.uncertain_sends >= MAX_UNCERTAIN_SENDS or row.attempts >= max_attempts:
        _unconfirmed(row, error, now=now)
        return row.status
    row.status = OUTBOX_PENDING
    row.last_error = f"outcome unknown: {error}"[:500]
    row.updated_at = now
    row.next_attempt_at = now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
    return row.status


async def mark_skipped(session: AsyncSession, row_id: int, reason: str, *, now: datetime) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=OUTBOX_SKIPPED, last_error=reason, updated_at=now)
    )


async def mark_retry(
    session: AsyncSession,
    row_id: int,
    error: str,
    *,
    now: datetime,
    max_attempts: int,
    retry_after: timedelta | None = None,
) -> str:
    """Put a row back for another try, or fail it after `max_attempts`; returns the status."""
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is None:
        return OUTBOX_FAILED
    row.last_error = error[:500]
    row.updated_at = now
    if row.attempts >= max_attempts:
        if row.uncertain_sends:
            # An earlier try may have delivered it: not a failure, just not confirmed.
            _unconfirmed(row, error, now=now)
        else:
            await _settle(session, row, OUTBOX_FAILED, f"{GAVE_UP}{error}", now=now)
        return row.status
    wait = retry_after or BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
    row.status = OUTBOX_PENDING
    row.next_attempt_at = now + wait
    return row.status


async def mark_failed(session: AsyncSession, row_id: int, error: str, *, now: datetime) -> None:
    """Telegram refused the row for good (or it could not be written): whoever must know hears."""
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is None:
        return
    if row.uncertain_sends:
        # An earlier try may have delivered it: not a failure, just not confirmed.
        _unconfirmed(row, error, now=now)
    else:
        await _settle(session, row, OUTBOX_FAILED, error, now=now)


async def user_returned(session: AsyncSession, user_id: int, *, now: datetime) -> None:
    """A user who had blocked the bot talks to it again: what still makes sense goes out.

    Their rows still pending were never settled and simply go out when due. Coordinators who
    were told of the block hear that it is over; a notice of the block not sent yet is
    dropped instead, as it is no longer true.
    """
    rows = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.user_id == user_id,
            OutboxMessage.status == OUTBOX_BLOCKED,
            OutboxMessage.not_after > now,
        )
    )
    for row in rows:
        row.status = OUTBOX_PENDING
        row.next_attempt_at = max(row.due_at, now)
        row.updated_at = now
    prefix = f"{USER_BLOCKED}:{user_id}:"
    notices = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == USER_BLOCKED,
            OutboxMessage.dedupe_key.like(f"{prefix}%"),
            OutboxMessage.status.in_((OUTBOX_PENDING, OUTBOX_SENDING, OUTBOX_SENT)),
        )
        .order_by(OutboxMessage.id)
    )
    for notice in list(notices):
        if notice.status == OUTBOX_PENDING:
            notice.status = OUTBOX_CANCELLED
            notice.updated_at = now
            continue
        await enqueue(
            session,
            user_id=notice.user_id,
            exchange_id=notice.exchange_id,
            kind=USER_BACK,
            dedupe_key=f"{USER_BACK}:{notice.dedupe_key[len(USER_BLOCKED) + 1 :]}",
            payload=read_payload(MemberPayload, notice.payload),
            now=now,
            not_after=now + UNDELIVERED_VALIDITY,
        )


async def mark_user_blocked(
    session: AsyncSession, user_id: int, row_id: int, *, now: datetime
) -> None:
    """A send found that the user blocked the bot: settle that row and remember the block.

    Only the row that was tried is settled. The user's other rows stay pending: each is
    settled as blocked when it falls due and the block still stands (claim_due), and then
    whoever must know hears of it; if the user writes to the bot before that, they go out.
    The first time the block is seen, the coordinators of each exchange the user is in hear it.
    """
    user = await session.get(User, user_id, with_for_update=True)
    if user is not None and user.is_group:
        # A group answers 403 when the bot was removed from it: that unlinks the group.
        from bot.services import groups

        await groups.bot_removed(session, user, row_id, now=now)
        return
    first = user is not None and user.blocked_at is None
    if user is not None and first:
        user.blocked_at = now
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    told: list[int] = []
    if row is not None and row.status in (OUTBOX_PENDING, OUTBOX_SENDING):
        told = await _settle(session, row, OUTBOX_BLOCKED, BLOCKED_ERROR, now=now)
    if user is not None and first:
        # A coordinator just told by the row's own notice (a day schedule that did not
        # arrive because of the block) needs no second message about the same exchange.
        already = {(row.exchange_id, target) for target in told} if row is not None else set()
        await _tell_blocked(session, user, already, now=now)


async def _tell_blocked(
    session: AsyncSession, user: User, already: set[tuple[int | None, int]], *, now: datetime
) -> None:
    """The coordinators of each active exchange `user` belongs to hear, once, of the block."""
    from bot.services.exchanges import coordinators_of

    assert user.blocked_at is not None
    stamp = int(user.blocked_at.timestamp())
    memberships = await session.scalars(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    )
    roles: dict[int, Membership] = {}
    for membership in memberships:
        roles.setdefault(membership.exchange_id, membership)
    for exchange_id, membership in roles.items():
        exchange = await session.get(Exchange, exchange_id)
        if exchange is None or exchange.status != STATUS_ACTIVE:
            continue
        await tell(
            session,
            [
                coordinator.id
                for coordinator in await coordinators_of(session, exchange)
                if coordinator.id != user.id and (exchange_id, coordinator.id) not in already
            ],
            exchange_id=exchange_id,
            kind=USER_BLOCKED,
            payload=MemberPayload(user=user.id, role=membership.role, side=membership.side),
            dedupe_key=partial(_blocked_key, user.id, stamp, exchange_id),
            now=now,
            not_after=now + UNDELIVERED_VALIDITY,
        )


def _blocked_key(user_id: int, stamp: int, exchange_id: int, coordinator_id: int) -> str:
    return f"{USER_BLOCKED}:{user_id}:{stamp}:{exchange_id}:{coordinator_id}"


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: int(n) for status, n in rows}


# Skip reasons that mean "arrived too late", as opposed to "no longer needed" (a decided
# proposal, a ticked item): those are shown to coordinators in /berichten.
LATE_REASONS = ("too_late", QUIET_TOO_LATE)


async def recent_failures(session: AsyncSession, limit: int = 10) -> list[OutboxMessage]:
    """The latest rows that did not reach their recipient: failed, blocked or too late."""
    rows = await session.scalars(
        select(OutboxMessage)
        .where(
            or_(
                OutboxMessage.status.in_((OUTBOX_FAILED, OUTBOX_BLOCKED)),
                (OutboxMessage.status == OUTBOX_SKIPPED)
                & OutboxMessage.last_error.in_(LATE_REASONS),
            )
        )
        .order_by(OutboxMessage.updated_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class NotDelivered:
    """A row that did not reach its recipient, as a coordinator reads it in /berichten."""

    at: datetime
    kind: str
    recipient: str
    exchange: str | None  # "#10 De Klimop – Het Anker"
    reason: str  # blocked, too_late, quiet_hours, refused, gave_up or unwritable


def why_not_delivered(row: OutboxMessage) -> str:
    """Why `row` did not arrive, as a code the catalogue has words for."""
    if row.status == OUTBOX_BLOCKED:
        return "blocked"
    if row.status == OUTBOX_SKIPPED:
        return "quiet_hours" if row.last_error == QUIET_TOO_LATE else "too_late"
    error = row.last_error or ""
    if error.startswith(RENDER_ERROR):
        return "unwritable"
    if error.startswith(GAVE_UP):
        return "gave_up"
    return "refused"


async def names_and_labels(
    session: AsyncSession, rows: Sequence[OutboxMessage]
) -> tuple[dict[int, str], dict[int, str]]:
    """The recipients' names and the exchanges' labels of these rows, in two queries."""
    if not rows:
        return {}, {}
    names = {
        user_id: name
        for user_id, name in await session.execute(
            select(User.id, User.display_name).where(User.id.in_({r.user_id for r in rows}))
        )
    }
    labels = {
        exchange.id: label(exchange)
        for exchange in await session.scalars(
            select(Exchange)
            .where(Exchange.id.in_({r.exchange_id for r in rows if r.exchange_id is not None}))
            .options(selectinload(Exchange.sides).joinedload(ExchangeSide.school))
        )
    }
    return names, labels


async def not_delivered(session: AsyncSession, limit: int = 10) -> list[NotDelivered]:
    """The latest rows that did not arrive, with their recipient's name and exchange."""
    rows = await recent_failures(session, limit)
    if not rows:
        return []
    names, exchanges = await names_and_labels(session, rows)
    return [
        NotDelivered(
            at=row.updated_at,
            kind=row.kind,
            recipient=names.get(row.user_id, "?"),
            exchange=exchanges.get(row.exchange_id) if row.exchange_id is not None else None,
            reason=why_not_delivered(row),
        )
        for row in rows
    ]


async def uncertain_count(session: AsyncSession) -> int:
    """How many sends had an unknown outcome (each may have shown a message twice)."""
    total = await session.scalar(select(func.coalesce(func.sum(OutboxMessage.uncertain_sends), 0)))
    return int(total or 0)


FINISHED = (OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_BLOCKED, OUTBOX_SKIPPED, OUTBOX_CANCELLED)
