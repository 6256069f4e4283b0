"""What the bot does once when it starts: bring every active exchange's plan up to date.

Templates, reminder rules and settings (quiet hours, lead times) may have changed since the
bot last ran; the outbox must follow them, not what an older version planned. Re-planning
is idempotent: rows that still fit stay as they are, sent rows are never touched.

It runs in the background, a chunk of exchanges per short write transaction, so the bot
answers people from its first second: a row that waits for its new plan a little longer is
sent by the dispatcher as planned before, or re-planned before it is due.
"""

from __future__ import annotations

import asyncio
import gc
import logging

from bot.context import AppContext
from bot.services.exchanges import active_exchange_ids
from bot.services.outbox import REPLAN_CHUNK, BulkReplan, replan_many

log = logging.getLogger(__name__)


async def replan_all(app: AppContext, *, chunk: int = REPLAN_CHUNK) -> BulkReplan:
    """Re-plan every active exchange, `chunk` per write transaction, then the Monday
    summaries once; returns what it did."""
    async with app.db.read() as session:
        ids = await active_exchange_ids(session)
    done = await replan_many(app.db, ids, app.programmes, app.rules, clock=app.clock, chunk=chunk)
    log.info(
        "Re-planned %d active exchange(s) at start-up in %.1f s, %d changed "
        "(%d rows added, %d moved, %d cancelled; longest write %.0f ms)",
        done.exchanges,
        done.seconds,
        done.changed,
        done.rows.created,
        done.rows.updated,
        done.rows.cancelled,
        done.longest_write * 1000,
    )
    return done


def start(app: AppContext) -> asyncio.Task[None]:
    """Start re-planning every active exchange in the background (see `finished`)."""
    task = asyncio.create_task(_replan_logged(app), name="startup-replan")
    app.startup_replan = task
    return task


async def finished(app: AppContext) -> None:
    """Wait until the start-up re-plan is over (at once when none runs)."""
    task = app.startup_replan
    if task is not None:
        # wait(), not await: a cancelled re-plan is over too, and its error was logged.
        await asyncio.wait([task])


async def stop(app: AppContext) -> None:
    """Stop a start-up re-plan still running: its current chunk rolls back, whatever is
    left is planned at the next start (or when those exchanges change)."""
    task = app.startup_replan
    if task is not None and not task.done():
        task.cancel()
        await asyncio.wait([task])
    app.startup_replan = None


async def _replan_logged(app: AppContext) -> None:
    try:
        await replan_all(app)
    except Exception:
        # Nobody awaits this task for its result: an error must reach the log, and the bot
        # goes on with the rows planned before.
        log.exception("Re-planning at start-up failed")
    if app.owns_process:
        settle_memory()


def settle_memory() -> None:
    """What is alive once the bot has started (modules, templates, texts, the libraries' own
    objects) lives as long as the process: the garbage collector stops looking at it. On a
    busy Monday a full collection over all of it would otherwise stop the bot for a few
    tenths of a second at a time, every few seconds."""
    gc.collect()
    gc.freeze()
