"""The time machine: where each jump lands, and letting the skipped time pass.

Jumping forward runs the dispatcher for every push that falls in the skipped time at the
moment it is due (as tests/harness.py `run_until` does), so each message carries its own
time and none is marked as sent later than planned.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import func, select
from telegram import Bot

from bot.context import AppContext
from bot.jobs import retention
from bot.jobs.outbox import run_dispatch
from bot.sandbox.clock import SandboxClock
from bot.services.outbox import CLAIM_LEASE
from db.models import OUTBOX_PENDING, OUTBOX_SENDING, OutboxMessage

JUMPS = ("monday", "exchange_day", "hour", "day", "now")
MONDAY_AT = time(8, 0)
EXCHANGE_DAY_AT = time(7, 30)
# A jump of weeks passes a few hundred pushes; more rounds than this means something keeps
# planning work for the past, and the jump stops rather than spin.
MAX_ROUNDS = 10_000


def next_monday(now: datetime, tz: tzinfo) -> datetime:
    """Monday 08:00 local time, strictly after `now`."""
    local = now.astimezone(tz)
    day = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    moment = datetime.combine(day, MONDAY_AT, tzinfo=tz)
    if moment <= now:
        moment = datetime.combine(day + timedelta(days=7), MONDAY_AT, tzinfo=tz)
    return moment


def next_exchange_day(days: Iterable[date], now: datetime, tz: tzinfo) -> datetime | None:
    """07:30 local time of the first of `days` whose morning is still to come."""
    mornings = (datetime.combine(day, EXCHANGE_DAY_AT, tzinfo=tz) for day in days)
    return min((m for m in mornings if m > now), default=None)


async def next_due(app: AppContext) -> datetime | None:
    """When the dispatcher next has work: a pending row, or a claim whose lease runs out."""
    async with app.db.read() as session:
        pending = await session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == OUTBOX_PENDING
            )
        )
        stuck = await session.scalar(
            select(func.min(OutboxMessage.claimed_at)).where(OutboxMessage.status == OUTBOX_SENDING)
        )
    if stuck is not None:
        stuck += CLAIM_LEASE + timedelta(seconds=1)
    candidates = [m for m in (pending, stuck) if m is not None]
    return min(candidates) if candidates else None


async def dispatch(app: AppContext, bot: Bot) -> int:
    """Run the dispatcher until nothing more is due now; how many rows it took."""
    total = 0
    while claimed := await run_dispatch(app, bot):
        total += claimed
    return total


async def travel(app: AppContext, bot: Bot, clock: SandboxClock, target: datetime) -> int:
    """Let the sandbox's time pass until `target`, sending each push when it is due; returns
    the outbox rows dispatched. Never moves the clock back."""
    delivered = 0
    last: datetime | None = None
    for _ in range(MAX_ROUNDS):
        due = await next_due(app)
        if due is None or due > target:
            break
        clock.set(max(due, clock.now()))
        taken = await dispatch(app, bot)
        delivered += taken
        if not taken and last is not None and due <= last:
            # Due yet not taken twice over: the rules hold it; the target still comes.
            break
        last = due
    clock.set(max(target, clock.now()))
    await retention.purge(app)
    return delivered
