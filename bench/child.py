"""Measurements that need a process of their own: start-up time and memory.

`python -m bench.child MODE …` prints one line `RESULT {json}` at the end; `bench/startup.py`
and `bench/__main__.py` run it and read that line. A fresh process starts with nothing
imported or cached, as the bot does after a deploy, and its memory is its own.

Modes:
- `monday [--database-url URL] --pairs N [--seeded]`: figure 1's Monday (bench/push.py),
  and the process's RSS the moment the rush is over; with `--seeded` on a city the parent
  seeded, so that what seeding held is not counted;
- `bot-start --database-url URL`: the bot on a database prepared by the parent (its pending
  rows planned), from building the application to the first getUpdates;
- `jobqueue --jobs J --due D`: the usual bot that keeps its reminders in memory: a bare
  python-telegram-bot application that schedules J `run_once` jobs when it starts, D of them
  due at once and sent, the rest later; its start to the first getUpdates, and its RSS once
  the D are sent.
"""

from __future__ import annotations

import time

# Taken first, before any import: what the process cost before `main` ran is reported apart.
PROCESS_BEGAN = time.monotonic()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
from dataclasses import asdict  # noqa: E402
from typing import Any  # noqa: E402

RESULT_PREFIX = "RESULT "
FIRST_CHAT = 100_000
# The first getUpdates is recorded once it is answered: at most the long-poll timeout later.
FIRST_POLL_TIMEOUT = 60.0
DUE_SPACING = 0.002


def memory() -> dict[str, float]:
    """This process's resident memory now (VmRSS) and at its highest (VmHWM), in MB."""
    found: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    return {"rss_mb": found.get("VmRSS", 0.0), "peak_mb": found.get("VmHWM", 0.0)}


async def _first_poll(tg: Any) -> float:
    """The wall-clock arrival of the first getUpdates at the fake server."""
    call = await tg.wait_for_call("getUpdates", timeout=FIRST_POLL_TIMEOUT)
    return float(call.timestamp)


async def monday(database_url: str | None, pairs: int, *, seeded: bool) -> dict[str, Any]:
    from bench import push

    held: dict[str, float] = {}
    run = await push.monday(
        database_url, pairs, on_settled=lambda: held.update(memory()), seeded=seeded
    )
    return {**asdict(run), **held}


async def bot_start(database_url: str) -> dict[str, Any]:
    """Build and start the bot as `python -m bot run` does, jobs running; time to the first
    getUpdates. Start-up re-planning is not waited for where the bot can run it behind."""
    imports_began = time.monotonic()
    from bench.push import SUNDAY_EVENING, start_bot
    from bench.world import settings_for
    from bot.app import build_application, stop_beside
    from bot.clock import FakeClock
    from bot.context import AppContext
    from bot.domain.programme import load_programmes
    from bot.texts import get_texts
    from db.session import Database
    from fake_telegram import FakeTelegram

    imported = time.monotonic()
    async with FakeTelegram() as tg:
        began = time.time()
        settings = settings_for(database_url, tg.url)
        database = Database(database_url)
        context = AppContext(
            settings=settings,
            db=database,
            clock=FakeClock(SUNDAY_EVENING),
            programmes=load_programmes(),
            texts=get_texts(),
            # As `python -m bot run` has it: this process plays the bot.
            owns_process=True,
        )
        app = build_application(context, settings.require_token())
        try:
            await start_bot(app, jobs=True, wait_for_startup=False)
            first = await _first_poll(tg)
        finally:
            await stop_beside(app)
            await database.dispose()
        return {
            "first_poll_s": first - began,
            "imports_s": imported - imports_began,
            "process_to_main_s": imports_began - PROCESS_BEGAN,
            **memory(),
        }


async def jobqueue(jobs: int, due: int) -> dict[str, Any]:
    """The in-memory JobQueue bot: J reminders scheduled at start, D of them sent at once."""
    imports_began = time.monotonic()
    from datetime import timedelta

    from telegram.ext import Application, ApplicationBuilder, ContextTypes

    from fake_telegram import FakeTelegram

    imported = time.monotonic()
    chats = max(1, min(jobs, 4001))

    async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
        job = context.job
        assert job is not None and job.chat_id is not None
        await context.bot.send_message(job.chat_id, str(job.data))

    async def schedule(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        assert app.job_queue is not None
        for n in range(jobs):
            # The due ones a few milliseconds apart: all at one moment, an unpaced bot
            # opens thousands of connections at once and most of its sends time out.
            soon = timedelta(seconds=1 + n * DUE_SPACING)
            when = soon if n < due else timedelta(days=1 + n % 28)
            text = f"Herinnering {n}: vergeet de checklist niet."
            app.job_queue.run_once(remind, when, chat_id=FIRST_CHAT + n % chats, data=text)

    async with FakeTelegram() as tg:
        for n in range(chats):
            tg.open_chat(tg.user(FIRST_CHAT + n, f"Lid {n}"))
        began = time.time()
        app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).post_init(schedule).build()
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=False)
        try:
            first = await _first_poll(tg)
            deadline = time.monotonic() + 600
            # Polled: the fake server has no signal for "n messages sent".
            while len(tg.calls_to("sendMessage")) < due and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            held = memory()
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
        return {
            "first_poll_s": first - began,
            "imports_s": imported - imports_began,
            "process_to_main_s": imports_began - PROCESS_BEGAN,
            "sent": len(tg.calls_to("sendMessage")),
            **held,
        }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("mode", choices=("monday", "bot-start", "jobqueue"))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=2000)
    parser.add_argument(
        "--seeded", action="store_true", help="monday: the city is in --database-url already"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.mode == "monday":
        result = asyncio.run(monday(args.database_url, args.pairs, seeded=args.seeded))
    elif args.mode == "bot-start":
        result = asyncio.run(bot_start(args.database_url))
    else:
        result = asyncio.run(jobqueue(args.jobs, args.due))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
