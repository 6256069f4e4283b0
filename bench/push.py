"""Figure 1: the Monday push rate of a city, with the default settings, against a fake server
that answers 429 like Telegram."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.app import build_application, start_beside, stop_beside
from bot.context import AppContext, BotApplication
from bot.domain.programme import load_programmes
from bot.sandbox import timemachine
from bot.texts import get_texts
from db.models import OUTBOX_PENDING, OUTBOX_SENDING, OutboxMessage
from db.session import Database
from fake_telegram import FakeTelegram

from .world import AMS, MONDAY, RunningClock, fresh_database, seed_city, settings_for

LATE_NOTE = "Later verstuurd dan gepland"
EIGHT = datetime(MONDAY.year, MONDAY.month, MONDAY.day, 8, 0, tzinfo=AMS)
SUNDAY_EVENING = EIGHT - timedelta(hours=12)
# A Monday that has not settled by then is reported as it stands.
GIVE_UP_AFTER = timedelta(minutes=20)
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class MondayRun:
    due_rows: int
    due_kinds: dict[str, int]
    sent: int  # messages Telegram let through (a long row may be several)
    refused: int  # 429 answers
    late_notes: int
    first_to_last_s: float
    rate: float  # messages per second, first send to last
    last_left_s: float  # seconds after 08:00
    settled: bool
    setup_s: float
    startup_s: float


async def monday(database_url: str | None, pairs: int) -> MondayRun:
    async with fresh_database(database_url) as url:
        return await _monday(url, pairs)


async def _monday(url: str, pairs: int) -> MondayRun:
    began = time.monotonic()
    city = await seed_city(url, pairs, now=SUNDAY_EVENING)
    seeded = time.monotonic()
    tg = FakeTelegram(strict_limits=True)
    await tg.start()
    settings = settings_for(url, tg.url)
    database = Database(url)
    clock = RunningClock(SUNDAY_EVENING)
    context = AppContext(
        settings=settings,
        db=database,
        clock=clock,
        programmes=load_programmes(),
        texts=get_texts(),
    )
    chats = [city.coordinator, *city.members]
    for user_id in chats:
        tg.open_chat(tg.user(user_id, f"Lid {user_id}"))
    app = build_application(context, settings.require_token())
    try:
        # Paused jobs: the evening before is prepared on a clock that stands still.
        await start_beside(app, jobs=False)
        started = time.monotonic()
        await _evening_before(context, app, clock)
        marks = {chat: tg.last_message_id(chat) for chat in chats}
        logged = len(tg.limits.log)
        due_kinds = await _due_kinds(database)
        # From here the clock runs as production's does, and the dispatcher runs as its
        # JobQueue schedules it (DISPATCH_INTERVAL_SECONDS, DISPATCH_BATCH_SIZE, TELEGRAM).
        eight = clock.run_from(EIGHT)
        assert app.job_queue is not None
        app.job_queue.scheduler.resume()
        settled = await _settle(database)
        await stop_beside(app)
    finally:
        await database.dispose()
        await tg.stop()
    calls = tg.limits.log[logged:]
    moments = [call.at for call in calls if call.allowed]
    late = sum(
        LATE_NOTE in (message.text or "")
        for chat in chats
        for message in tg.messages_since(chat, marks[chat])
    )
    span = moments[-1] - moments[0] if len(moments) > 1 else 0.0
    return MondayRun(
        due_rows=sum(due_kinds.values()),
        due_kinds=due_kinds,
        sent=len(moments),
        refused=sum(not call.allowed for call in calls),
        late_notes=late,
        first_to_last_s=span,
        rate=(len(moments) - 1) / span if span else 0.0,
        last_left_s=moments[-1] - eight if moments else 0.0,
        settled=settled,
        setup_s=seeded - began,
        startup_s=started - seeded,
    )


async def _evening_before(context: AppContext, app: BotApplication, clock: RunningClock) -> None:
    """Send what falls due before Monday 08:00 at its own moment, as a running bot would."""
    before_eight = EIGHT - timedelta(microseconds=1)
    for _ in range(timemachine.MAX_ROUNDS):
        due = await timemachine.next_due(context)
        if due is None or due > before_eight:
            break
        clock.set(max(due, clock.now()))
        await timemachine.dispatch(context, app.bot)
    clock.set(before_eight)


async def _unsettled(database: Database) -> int:
    """Rows due by 08:00 not yet sent or settled otherwise."""
    async with database.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.due_at <= EIGHT,
                OutboxMessage.status.in_((OUTBOX_PENDING, OUTBOX_SENDING)),
            )
        )
    return int(count or 0)


async def _due_kinds(database: Database) -> dict[str, int]:
    async with database.read() as session:
        rows = await session.execute(
            select(OutboxMessage.kind, func.count())
            .where(
                OutboxMessage.due_at <= EIGHT,
                OutboxMessage.status.in_((OUTBOX_PENDING, OUTBOX_SENDING)),
            )
            .group_by(OutboxMessage.kind)
        )
        return {str(kind): int(count) for kind, count in rows.all()}


async def _settle(database: Database) -> bool:
    """Wait until every row due by 08:00 is settled (False: gave up)."""
    deadline = time.monotonic() + GIVE_UP_AFTER.total_seconds()
    while time.monotonic() < deadline:
        if not await _unsettled(database):
            return True
        await asyncio.sleep(POLL_SECONDS)
    return False
