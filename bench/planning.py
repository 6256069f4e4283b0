"""Figure 4's planning half: what re-planning costs per pair, and how long start-up re-plans.

A city of pairs is seeded as for the Monday (no rows planned yet). Its exchanges are then
planned as the start-up re-plan plans them, a chunk per write transaction and the Monday
summaries once at the end: first with every row new, then again with nothing changed. The
cost per pair is the time inside those transactions divided by the pairs (the pauses the
re-plan leaves other writers between chunks are not work). Last, the start-up re-plan itself
runs as a restarted bot runs it, pauses included, on the planned city.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.config import Settings
from bot.context import AppContext, rules_for
from bot.domain.programme import Programme, load_programmes
from bot.jobs import startup
from bot.services.exchanges import active_exchange_ids
from bot.services.outbox import REPLAN_CHUNK, replan_many
from bot.texts import get_texts
from db.models import OutboxMessage
from db.session import Database

from .report import Figure, Target
from .world import AMS, MONDAY, RunningClock, fresh_database, seed_city, settings_for

# Before issue 12, measured on this kind of machine (2 cores, SQLite) with 1,000 pairs: every
# exchange re-planned in one transaction, whole rows loaded, one INSERT per row, and every
# coordinator's weeks worked out again after each exchange.
BEFORE_NEW_MS = 55.5
BEFORE_SAME_MS = 65.7
BEFORE_LABEL = "before (1000 pairs, one transaction)"
# Issue 12: at most 3 ms per pair, in short transactions.
TARGET_MS = 3.0
# Two weeks before the pairs start: every planned row lies ahead.
SEEDED = datetime(MONDAY.year, MONDAY.month, MONDAY.day, 20, 0, tzinfo=AMS) - timedelta(days=15)


@dataclass(frozen=True)
class Pass:
    seconds: float  # inside the write transactions
    cpu: float  # seconds of CPU, the database's thread included
    longest_write: float
    rows: int  # planned rows stored afterwards


@dataclass(frozen=True)
class PlanningRun:
    new: Pass
    same: Pass
    startup_s: float
    startup_longest_write: float


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


async def _plan_all(
    database: Database, programmes: dict[str, Programme], settings: Settings, now: datetime
) -> Pass:
    """Every active exchange planned as the start-up re-plan plans them."""
    async with database.read() as session:
        ids = await active_exchange_ids(session)
    cpu = time.process_time()
    done = await replan_many(database, ids, programmes, rules_for(settings), clock=FakeClock(now))
    cpu = time.process_time() - cpu
    async with database.read() as session:
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return Pass(done.busy, cpu, done.longest_write, int(rows or 0))


async def planning(database_url: str | None, pairs: int) -> PlanningRun:
    async with fresh_database(database_url) as url:
        await seed_city(url, pairs, now=SEEDED)
        # No Telegram is needed: nothing is sent.
        settings = settings_for(url, "http://127.0.0.1:9")
        programmes = load_programmes()
        database = Database(url)
        try:
            new = await _plan_all(database, programmes, settings, SEEDED)
            same = await _plan_all(database, programmes, settings, SEEDED)
            context = AppContext(
                settings=settings,
                db=database,
                clock=RunningClock(SEEDED),
                programmes=programmes,
                texts=get_texts(),
            )
            done = await startup.replan_all(context)
        finally:
            await database.dispose()
    return PlanningRun(new, same, done.seconds, done.longest_write)


async def figures(args: argparse.Namespace) -> list[Figure]:
    runs: list[PlanningRun] = []
    # Each run plans the whole city twice and restarts it: half a minute at 1000 pairs, where
    # two runs (the spread of two) keep `make bench` within ten minutes.
    times = max(1, min(args.repeat, 2) if args.pairs >= 1000 else args.repeat)
    for index in range(times):
        say(f"Planning {args.pairs} pairs, run {index + 1}/{times}")
        run = await planning(args.database_url, args.pairs)
        say(
            f"  new {run.new.seconds * 1000 / args.pairs:.2f} ms/pair "
            f"(CPU {run.new.cpu * 1000 / args.pairs:.2f}, {run.new.rows} rows), "
            f"same {run.same.seconds * 1000 / args.pairs:.2f} ms/pair "
            f"(CPU {run.same.cpu * 1000 / args.pairs:.2f}), "
            f"start-up {run.startup_s:.1f} s (longest write "
            f"{run.startup_longest_write * 1000:.0f} ms)"
        )
        runs.append(run)
    per_pair = 1000 / args.pairs
    extra = {
        "pairs": args.pairs,
        "chunk": REPLAN_CHUNK,
        "rows": [r.new.rows for r in runs],
    }
    return [
        Figure(
            "plan_new",
            f"Planning a pair, every row new ({args.pairs} pairs)",
            "ms",
            [r.new.seconds * per_pair for r in runs],
            BEFORE_NEW_MS,
            BEFORE_LABEL,
            Target("<=", TARGET_MS),
            notes=f"{REPLAN_CHUNK} pairs per write transaction, Monday summaries once",
            extra={
                **extra,
                "cpu_ms": [r.new.cpu * per_pair for r in runs],
                "longest_write_ms": [r.new.longest_write * 1000 for r in runs],
            },
        ),
        Figure(
            "plan_same",
            f"Re-planning a pair, nothing changed ({args.pairs} pairs)",
            "ms",
            [r.same.seconds * per_pair for r in runs],
            BEFORE_SAME_MS,
            BEFORE_LABEL,
            Target("<=", TARGET_MS),
            notes="stored rows compared by key, column by column",
            extra={
                **extra,
                "cpu_ms": [r.same.cpu * per_pair for r in runs],
                "longest_write_ms": [r.same.longest_write * 1000 for r in runs],
            },
        ),
        Figure(
            "plan_startup",
            f"Start-up re-plan of {args.pairs} pairs, in the background",
            "s",
            [r.startup_s for r in runs],
            BEFORE_SAME_MS * args.pairs / 1000,
            "before: one transaction, before polling",
            None,
            notes=(
                "the bot polls meanwhile; the re-plan pauses between chunks as long as each "
                "took, so other writers get the database"
            ),
            extra={
                "pairs": args.pairs,
                "longest_write_ms": [r.startup_longest_write * 1000 for r in runs],
                "median_longest_write_ms": statistics.median(
                    r.startup_longest_write * 1000 for r in runs
                ),
            },
        ),
    ]
