"""Start-up and memory, each measured in a fresh process (bench/child.py).

Start-up: a city whose pairs have about 10,000 pending rows in the outbox (planned by a first
start of the bot), then the bot started again in a new process: from building the application
to the first getUpdates at the fake server. Memory: the RSS of the process that pushed the
Monday (bench/push.py in bench/child.py), the moment the rush is over. The baseline for both is
the usual bot that keeps its reminders as in-memory JobQueue jobs: 10,000 `run_once` jobs
scheduled at start, the Monday's number of them sent at once.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
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

from .child import RESULT_PREFIX
from .push import SUNDAY_EVENING, start_bot
from .world import fresh_database, seed_city, settings_for

ROOT = Path(__file__).resolve().parent.parent
PENDING_ROWS = 10_000
# Pending rows the standard programme plans per pair on the Sunday before it starts (two
# teachers, two begeleiders; the coordinator's are shared).
ROWS_PER_PAIR = 45
CHILD_TIMEOUT = 900.0


async def run_child(*args: str) -> dict[str, Any]:
    """`python -m bench.child ARGS` in a fresh process; its RESULT line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.child",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(CHILD_TIMEOUT):
        stdout, stderr = await process.communicate()
    for line in stdout.decode().splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line.removeprefix(RESULT_PREFIX))
            return result
    raise RuntimeError(
        f"bench.child {' '.join(args)} ended with {process.returncode} and no result:\n"
        + stderr.decode(errors="replace")[-3000:]
    )


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
    async with fresh_database(database_url) as url:
        await seed_city(url, pairs, now=SUNDAY_EVENING)
        pending = await _plan_once(url)
        results = [await run_child("bot-start", "--database-url", url) for _ in range(repeat)]
    return StartupRuns(
        [r["first_poll_s"] for r in results],
        pending,
        pairs,
        [r["imports_s"] for r in results],
    )


async def jobqueue(repeat: int, due: int, jobs: int = PENDING_ROWS) -> list[dict[str, Any]]:
    return [
        await run_child("jobqueue", "--jobs", str(jobs), "--due", str(due)) for _ in range(repeat)
    ]


async def monday_in_child(database_url: str | None, pairs: int) -> dict[str, Any]:
    """Figure 1's Monday in a fresh process, with that process's RSS once it is over. The
    city is seeded here, as the import command would have done before the bot started."""
    async with fresh_database(database_url) as url:
        began = time.monotonic()
        await seed_city(url, pairs, now=SUNDAY_EVENING)
        seeded = time.monotonic() - began
        result = await run_child("monday", "--pairs", str(pairs), "--database-url", url, "--seeded")
    result["setup_s"] = seeded
    return result
