"""Start-up and memory, each measured on a bot in a fresh process of its own (bench/child.py),
the fake server in this one.

Start-up: a city whose pairs have about 10,000 pending rows in the outbox (planned by a first
start of the bot), then the bot started again in a new process: from building the application
to the first getUpdates at the fake server. Memory: the RSS of the bot's process that pushed
the Monday (bench/push.py), the moment the rush is over. The baseline for both is the usual
bot that keeps its reminders as in-memory JobQueue jobs: 10,000 `run_once` jobs scheduled at
start, the Monday's number of them sent at once.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select

from bot.app import build_application, stop_beside
from bot.clock import FakeClock
from bot.context import AppContext
from bot.domain.programme import load_programmes
from bot.texts import get_texts
from db.models import OUTBOX_PENDING, OutboxMessage
from db.session import Database
from fake_telegram import FakeTelegram

from . import push, remote
from .child import FIRST_CHAT, JOBQUEUE_CHATS
from .scene import SUNDAY_EVENING, start_bot
from .world import fresh_database, seed_city, settings_for

PENDING_ROWS = 10_000
# Pending rows the standard programme plans per pair on the Sunday before it starts (two
# teachers, two begeleiders; the coordinator's are shared).
ROWS_PER_PAIR = 45
# The first getUpdates comes within the long poll's timeout of the start, or never.
FIRST_POLL_TIMEOUT = 60.0
# How long the JobQueue bot may take to send what is due.
SEND_TIMEOUT = 600.0
# ... or until nothing more was sent for this long.
STALLED_AFTER = 30.0


async def _first_poll(tg: FakeTelegram, child: remote.Child) -> float:
    """From the child's building the application to its first getUpdates at the server
    (both by the machine's wall clock)."""
    call = await tg.wait_for_call("getUpdates", timeout=FIRST_POLL_TIMEOUT)
    return float(call.timestamp) - float(child.ready["began"])


@dataclass(frozen=True)
class StartupRuns:
    first_poll_s: list[float]
    pending: int
    pairs: int
    imports_s: list[float]


async def _plan_once(url: str) -> int:
    """Start the bot once so that it plans the city; returns the pending rows."""
    async with FakeTelegram() as tg:
        settings = settings_for(url, tg.url)
        database = Database(url)
        context = AppContext(
            settings=settings,
            db=database,
            clock=FakeClock(SUNDAY_EVENING),
            programmes=load_programmes(),
            texts=get_texts(),
        )
        app = build_application(context, settings.require_token())
        try:
            await start_bot(app, jobs=False, wait_for_startup=True)
        finally:
            await stop_beside(app)
        try:
            async with database.read() as session:
                pending = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OUTBOX_PENDING)
                )
        finally:
            await database.dispose()
    return int(pending or 0)


async def bot_startup(
    database_url: str | None, repeat: int, rows: int = PENDING_ROWS
) -> StartupRuns:
    pairs = math.ceil(rows / ROWS_PER_PAIR)
    results: list[dict[str, Any]] = []
    async with fresh_database(database_url) as url:
        await seed_city(url, pairs, now=SUNDAY_EVENING)
        pending = await _plan_once(url)
        for _ in range(repeat):
            async with (
                FakeTelegram() as tg,
                remote.running("bot-start", "--api-url", tg.url, "--database-url", url) as bot,
            ):
                results.append({**bot.ready, "first_poll_s": await _first_poll(tg, bot)})
    return StartupRuns(
        [r["first_poll_s"] for r in results],
        pending,
        pairs,
        [r["imports_s"] for r in results],
    )


async def jobqueue(repeat: int, due: int, jobs: int = PENDING_ROWS) -> list[dict[str, Any]]:
    """The JobQueue bot in its own process: its start to the first getUpdates, and its
    memory once the `due` reminders are sent."""
    results: list[dict[str, Any]] = []
    for _ in range(repeat):
        async with FakeTelegram() as tg:
            for n in range(max(1, min(jobs, JOBQUEUE_CHATS))):
                tg.open_chat(tg.user(FIRST_CHAT + n, f"Lid {n}"))
            async with remote.running(
                "jobqueue", "--api-url", tg.url, "--jobs", str(jobs), "--due", str(due)
            ) as bot:
                first = await _first_poll(tg, bot)
                before = await bot.ask("memory")
                await _sent(tg, due)
                held = await bot.ask("memory")
            results.append(
                {
                    **bot.ready,
                    "first_poll_s": first,
                    "sent": len(tg.calls_to("sendMessage")),
                    # Its CPU for the sends (its due reminders start a second after start-up).
                    "send_cpu_s": float(held["cpu_s"]) - float(before["cpu_s"]),
                    **held,
                }
            )
    return results


async def _sent(tg: FakeTelegram, due: int) -> None:
    """Wait until `due` messages were sent, or nothing more came for a while."""
    deadline = time.monotonic() + SEND_TIMEOUT
    seen, moved = 0, time.monotonic()
    # Polled: the fake server has no signal for "n messages sent".
    while (sent := len(tg.calls_to("sendMessage"))) < due and time.monotonic() < deadline:
        if sent > seen:
            seen, moved = sent, time.monotonic()
        elif time.monotonic() - moved > STALLED_AFTER:
            break
        await asyncio.sleep(0.2)


async def monday_in_child(
    database_url: str | None, pairs: int, *, trace: str | None = None
) -> dict[str, Any]:
    """Figure 1's Monday, the bot in a fresh process, with that process's RSS once it is
    over. The city is seeded here first, as the import command would have done before the
    bot started."""
    run, held = await push.monday(database_url, pairs, trace=trace)
    return {**asdict(run), **held}
