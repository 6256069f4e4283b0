"""The outbox: every push the bot makes is a row, planned from the exchange's state.

Planning is pure (bot/domain/reminders.py); this module reconciles the plan with the stored
rows and hands due rows to the dispatcher. Claiming commits before anything is sent, so a
restart neither loses a row nor sends it twice; on PostgreSQL claims skip rows another
process has locked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.fieldwork import plan_checkin_checks
from bot.domain.programme import Programme
from bot.domain.reminders import (
    ExchangeSnapshot,
    Member,
    PhaseDates,
    PlannedPush,
    Rules,
    catch_up,
    is_quiet,
    next_allowed,
    plan_pushes,
)
from db.models import (
    OUTBOX_BLOCKED,
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OUTBOX_SKIPPED,
    STATUS_ACTIVE,
    Exchange,
    Membership,
    OutboxMessage,
    SchoolHoliday,
    User,
)

# A row claimed longer ago than this belongs to a process that died while sending it.
CLAIM_LEASE = timedelta(minutes=2)
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


async def snapshot(
    session: AsyncSession, exchange: Exchange, programme: Programme
) -> ExchangeSnapshot:
    members = await session.scalars(
        select(Membership).where(Membership.exchange_id == exchange.id).order_by(Membership.id)
    )
    return ExchangeSnapshot(
        id=exchange.id,
        programme=programme,
        active=exchange.status == STATUS_ACTIVE,
        phases=tuple(
            PhaseDates(
                key=p.phase_key,
                starts_on=p.starts_on,
                ends_on=p.ends_on,
                start_time=p.start_time,
                host=p.host,
                agreed=p.agreed,
            )
            for p in sorted(exchange.phases, key=lambda p: p.starts_on)
        ),
        members=tuple(Member(m.user_id, m.role, m.side) for m in members),
        school_holidays=await holidays_for(session, exchange.region),
    )


@dataclass(frozen=True)
class ReplanResult:
    created: int
    updated: int
    cancelled: int


async def replan_exchange(
    session: AsyncSession,
    exchange_id: int,
    programmes: Mapping[str, Programme],
    rules: Rules,
    *,
    now: datetime,
) -> ReplanResult:
    """Bring the exchange's planned rows in line with its state.

    Pending rows that no longer fit are cancelled, new ones created, changed ones moved.
    Rows already sent (or otherwise finished) are never touched, so nothing goes out twice.
    Only planned kinds are reconciled; immediate messages (proposals, alerts) are left alone.
    """
    exchange = await session.scalar(
        select(Exchange).where(Exchange.id == exchange_id).options(selectinload(Exchange.phases))
    )
    if exchange is None:
        return ReplanResult(0, 0, 0)
    plan: list[PlannedPush] = []
    if exchange.programme_key in programmes:
        state = await snapshot(session, exchange, programmes[exchange.programme_key])
        plan = plan_pushes(state, rules)
        coordinators = await session.scalars(
            select(User.id).where(User.is_coordinator.is_(True), User.active.is_(True))
        )
        plan += plan_checkin_checks(state, list(coordinators), tz=rules.tz, lead=rules.checkin_lead)
    wanted = {p.dedupe_key: p for p in plan if p.not_after >= now}
    planned_kinds = {"digest", "follow_up", "day_schedule", "checklist_nag", "checkin_missing"}
    existing = {
        row.dedupe_key: row
        for row in await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.exchange_id == exchange_id, OutboxMessage.kind.in_(planned_kinds))
            .with_for_update()
        )
    }
    created = updated = cancelled = 0
    for key, row in existing.items():
        if key not in wanted and row.status == OUTBOX_PENDING:
            row.status = OUTBOX_CANCELLED
            row.updated_at = now
            cancelled += 1
    for key, push in wanted.items():
        row = existing.get(key)
        if row is None:
            session.add(
                _new_row(
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
            created += 1
        elif row.status in (OUTBOX_PENDING, OUTBOX_CANCELLED) and (
            row.status == OUTBOX_CANCELLED
            or row.due_at != push.due_at
            or row.not_after != push.not_after
            or row.payload != push.payload
        ):
            # A cancelled row that fits again (a date moved back) is revived, not duplicated.
            row.status = OUTBOX_PENDING
            row.due_at = push.due_at
            row.not_after = push.not_after
            row.next_attempt_at = (
                max(push.due_at, row.next_attempt_at) if row.attempts else push.due_at
            )
            row.payload = push.payload
            row.updated_at = now
            updated += 1
    await session.flush()
    return ReplanResult(created, updated, cancelled)


def _new_row(
    *,
    user_id: int,
    exchange_id: int | None,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    due_at: datetime,
    not_after: datetime,
    now: datetime,
    urgent: bool = False,
) -> OutboxMessage:
    return OutboxMessage(
        user_id=user_id,
        exchange_id=exchange_id,
        kind=kind,
        dedupe_key=dedupe_key,
        payload=payload,
        urgent=urgent,
        status=OUTBOX_PENDING,
        due_at=due_at,
        not_after=not_after,
        next_attempt_at=due_at,
        attempts=0,
        created_at=now,
        updated_at=now,
    )


async def enqueue(
    session: AsyncSession,
    *,
    user_id: int,
    exchange_id: int | None,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    now: datetime,
    not_after: datetime | None = None,
    urgent: bool = False,
) -> OutboxMessage | None:
    """Queue a message to go out as soon as allowed; None if that key was queued before."""
    exists = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    if exists is not None:
        return None
    row = _new_row(
        user_id=user_id,
        exchange_id=exchange_id,
        kind=kind,
        dedupe_key=dedupe_key,
        payload=payload,
        due_at=now,
        not_after=not_after or now + timedelta(days=2),
        now=now,
        urgent=urgent,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class Claimed:
    id: int
    user_id: int
    exchange_id: int | None
    kind: str
    payload: dict[str, Any]
    late: bool
    language: str


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

    Rows that are too late, for a user who blocked the bot, or that must wait for the end
    of quiet hours are settled here without being sent.

    Rows left in "sending" by a process that died are claimed again once their lease has
    run out: such a row was most likely never delivered (the window between Telegram's
    answer and marking the row is milliseconds), so it is sent rather than lost.
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
    holidays_by_region = {
        region: await holidays_for(session, region) for region in set(regions.values())
    }
    claimed: list[Claimed] = []
    for row in rows:
        row.updated_at = now
        user = users.get(row.user_id)
        if user is None or user.blocked_at is not None:
            row.status = OUTBOX_BLOCKED
            row.last_error = "user has blocked the bot"
            continue
        decision = catch_up(row.kind, row.due_at, row.not_after, now)
        if not decision.send:
            row.status = OUTBOX_SKIPPED
            row.last_error = decision.reason
            continue
        if not row.urgent:
            holidays = holidays_by_region.get(regions.get(row.exchange_id or 0), ())
            if is_quiet(now, rules, holidays):
                later = next_allowed(now, rules, holidays)
                if later > row.not_after:
                    row.status = OUTBOX_SKIPPED
                    row.last_error = "quiet hours until too late"
                else:
                    row.status = OUTBOX_PENDING
                    row.next_attempt_at = later
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
            )
        )
    await session.flush()
    return Claims(claimed, len(rows))


async def mark_sent(
    session: AsyncSession, row_id: int, *, now: datetime, message_id: int | None
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            status=OUTBOX_SENT,
            sent_at=now,
            updated_at=now,
            telegram_message_id=message_id,
            last_error=None,
        )
    )


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
        row.status = OUTBOX_FAILED
        return row.status
    wait = retry_after or BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
    row.status = OUTBOX_PENDING
    row.next_attempt_at = now + wait
    return row.status


async def mark_failed(session: AsyncSession, row_id: int, error: str, *, now: datetime) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=OUTBOX_FAILED, last_error=error[:500], updated_at=now)
    )


async def user_returned(session: AsyncSession, user_id: int, *, now: datetime) -> None:
    """A user who had blocked the bot talks to it again: what still makes sense goes out."""
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


async def mark_user_blocked(
    session: AsyncSession, user_id: int, row_id: int, *, now: datetime
) -> None:
    """The user blocked the bot: remember it, and stop every push still waiting for them."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is not None:
        user.blocked_at = now
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.user_id == user_id,
            or_(OutboxMessage.id == row_id, OutboxMessage.status == OUTBOX_PENDING),
        )
        .values(status=OUTBOX_BLOCKED, last_error="user has blocked the bot", updated_at=now)
    )


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: int(n) for status, n in rows}


async def recent_failures(session: AsyncSession, limit: int = 10) -> list[OutboxMessage]:
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OUTBOX_FAILED)
        .order_by(OutboxMessage.updated_at.desc())
        .limit(limit)
    )
    return list(rows)


FINISHED = (OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_BLOCKED, OUTBOX_SKIPPED, OUTBOX_CANCELLED)
