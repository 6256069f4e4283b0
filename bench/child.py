"""The bot being measured, or a baseline bot, in a process of its own (bench/remote.py).

`python -m bench.child MODE --api-url URL …` runs a bot against the fake server at URL, which
runs in the bench's process with the simulated people: this process holds the bot alone, so
its memory and CPU are the bot's. It says `READY {json}` once up and answers the commands
of bench/remote.py; a fresh process starts with nothing imported or cached, as the bot does
after a deploy. Nothing here imports the fake server.

Modes:
- `bot --database-url URL`: the bot on a city the parent seeded, started with paused jobs on
  the Sunday evening before the Monday (its start-up re-plan waited for), the evening's
  messages sent, its clock standing just before 08:00. `DONE id` for each handled update.
  Commands: `jobs` (let the jobs run, the clock standing), `rush` (the clock runs with real
  time from 08:00, the jobs run; answers the monotonic moment standing for 08:00),
  `errors`, `memory`, `stop`;
- `day --database-url URL --at MOMENT [--paused]`: the bot on a database the parent prepared,
  its clock standing at MOMENT (ISO 8601), its jobs running (or paused). `DONE id` for each
  handled update.
  Commands: `errors`, `memory`, `stop`;
- `echo [--rate-limited] [--aiohttp]`: the bare python-telegram-bot echo bot (with
  AIORateLimiter; on the bot's aiohttp transport). Commands: `memory`, `stop`;
- `bot-start --database-url URL`: the bot on a database prepared by the parent (its pending
  rows planned), started as `python -m bot run` starts it; READY says when building began,
  the parent takes the first getUpdates from its server. Commands: `memory`, `stop`;
- `jobqueue --jobs J --due D`: the usual bot that keeps its reminders in memory: a bare
  python-telegram-bot application that schedules J `run_once` jobs when it starts, D of them
  due at once and sent, the rest later in the month, to chats FIRST_CHAT… (the parent opens
  them). READY as for `bot-start`. Commands: `memory`, `stop`.
"""

from __future__ import annotations

import os
import time

# Taken first, before any import: what the process cost before `main` ran is reported apart.
PROCESS_BEGAN = time.monotonic()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

from bench.remote import Control  # noqa: E402

# The fake server's token (bench/scene.py has it too; not imported here, so that the
# JobQueue bot's process holds nothing of the bot's).
TOKEN = "123456:TEST-TOKEN"
FIRST_CHAT = 100_000
# Chats the JobQueue bot's reminders go to (the parent opens them on its server).
JOBQUEUE_CHATS = 4001
DUE_SPACING = 0.002
JOBQUEUE_IN_FLIGHT = 32


def memory() -> dict[str, float]:
    """This process's resident memory now (VmRSS) and at its highest (VmHWM), in MB; and the
    CPU seconds it has used (all its threads)."""
    found: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    return {
        "rss_mb": found.get("VmRSS", 0.0),
        "peak_mb": found.get("VmHWM", 0.0),
        "cpu_s": time.process_time(),
    }


class ErrorWatch(logging.Handler):
    """The ERROR records the bot logs, among them a locked database (any OperationalError)."""

    SAMPLES = 3

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.locked = 0
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += f" {type(error).__name__}: {error}"
        self.count += 1
        self.locked += "database is locked" in text or "OperationalError" in text
        if len(self.samples) < self.SAMPLES:
            self.samples.append(text[:500])

    def seen(self) -> dict[str, Any]:
        """`errors`: what was logged since the process began."""
        return {"errors": self.count, "locked": self.locked, "samples": self.samples}

    @classmethod
    def install(cls) -> ErrorWatch:
        watch = cls()
        logging.getLogger().addHandler(watch)
        return watch


async def _serve(control: Control, commands: dict[str, Any] | None = None) -> None:
    """Answer commands until `stop` (which the caller answers once it has stopped)."""
    while (command := await control.next_command()) != "stop":
        if command == "memory":
            control.reply(memory())
        elif commands is not None and command in commands:
            control.reply(commands[command]())
        else:
            control.reply({"error": f"unknown command {command!r}"})


async def bot(database_url: str, api_url: str, trace: str | None = None) -> None:
    """The bot on the parent's city, ready for Monday 08:00; with `trace`, where its replies'
    time went during the rush is written to that file (bench/trace.py)."""
    from bench.scene import (
        EIGHT,
        SUNDAY_EVENING,
        RunningClock,
        bot_context,
        evening_before,
        start_bot,
    )
    from bot.app import build_application, stop_beside
    from bot.concurrency import PerChatUpdateProcessor

    control = Control()
    watch = ErrorWatch.install()
    began = time.monotonic()
    clock = RunningClock(SUNDAY_EVENING)
    context = bot_context(database_url, api_url, clock)
    database, settings = context.db, context.settings
    app = build_application(context, settings.require_token())
    if isinstance(app.update_processor, PerChatUpdateProcessor):
        app.update_processor.on_processed = control.done
    assert app.job_queue is not None
    scheduler = app.job_queue.scheduler
    tracer = None
    if trace is not None:
        from bench.trace import Tracer

        tracer = Tracer()
        tracer.install(app, database)

    def jobs() -> dict[str, Any]:
        scheduler.resume()
        return {}

    def rush() -> dict[str, Any]:
        if tracer is not None:
            tracer.start(spy_to=f"{trace}.pyspy.txt")
        eight = clock.run_from(EIGHT)
        scheduler.resume()
        return {"eight": eight}

    try:
        # Paused jobs: the evening before is prepared on a clock that stands still. The
        # start-up re-planning is what plans this city, so it is waited for.
        await start_bot(app, jobs=False)
        started = time.monotonic()
        await evening_before(context, app, clock)
        control.ready({"startup_s": started - began})
        await _serve(control, {"jobs": jobs, "rush": rush, "errors": watch.seen})
        if tracer is not None and trace is not None:
            tracer.stop()
            tracer.write(trace)
    finally:
        await stop_beside(app)
        await database.dispose()
    control.reply({})


async def day(database_url: str, api_url: str, at: datetime, *, paused: bool = False) -> None:
    """The bot on the parent's database, its clock standing at `at`, its jobs running unless
    `paused`."""
    from bench.scene import bot_context, start_bot
    from bot.app import build_application, stop_beside
    from bot.clock import FakeClock
    from bot.concurrency import PerChatUpdateProcessor

    control = Control()
    watch = ErrorWatch.install()
    context = bot_context(database_url, api_url, FakeClock(at))
    database, settings = context.db, context.settings
    app = build_application(context, settings.require_token())
    if isinstance(app.update_processor, PerChatUpdateProcessor):
        app.update_processor.on_processed = control.done
    try:
        await start_bot(app, jobs=not paused)
        control.ready({})
        await _serve(control, {"errors": watch.seen})
    finally:
        await stop_beside(app)
        await database.dispose()
    control.reply({})


async def echo(api_url: str, *, rate_limited: bool, aiohttp: bool) -> None:
    from bench.scene import echo_application, start_echo, stop_echo

    control = Control()
    app = echo_application(f"{api_url}/bot", rate_limited=rate_limited, aiohttp=aiohttp)
    await start_echo(app)
    try:
        control.ready({})
        await _serve(control)
    finally:
        await stop_echo(app)
    control.reply({})


async def bot_start(database_url: str, api_url: str) -> None:
    """Build and start the bot as `python -m bot run` does, jobs running. Start-up
    re-planning is not waited for where the bot can run it behind."""
    imports_began = time.monotonic()
    from bench.scene import SUNDAY_EVENING, bot_context, start_bot
    from bot.app import build_application, stop_beside
    from bot.clock import FakeClock

    imported = time.monotonic()
    control = Control()
    began = time.time()
    context = bot_context(database_url, api_url, FakeClock(SUNDAY_EVENING))
    database, settings = context.db, context.settings
    app = build_application(context, settings.require_token())
    try:
        await start_bot(app, jobs=True, wait_for_startup=False)
        control.ready(_started(began, imports_began, imported))
        await _serve(control)
    finally:
        await stop_beside(app)
        await database.dispose()
    control.reply({})


def _started(began: float, imports_began: float, imported: float) -> dict[str, float]:
    """What a started child tells the parent: when it began building (time.time()), how long
    its imports took and how long the process took to reach them (time.monotonic())."""
    return {
        "began": began,
        "imports_s": imported - imports_began,
        "process_to_main_s": imports_began - PROCESS_BEGAN,
    }


async def jobqueue(api_url: str, jobs: int, due: int) -> None:
    """The in-memory JobQueue bot: J reminders scheduled at start, D of them sent at once."""
    imports_began = time.monotonic()
    from datetime import timedelta

    from telegram.ext import Application, ApplicationBuilder, ContextTypes

    imported = time.monotonic()
    control = Control()
    chats = max(1, min(jobs, JOBQUEUE_CHATS))

    # At most this many sends under way at once, as many as the updates python-telegram-bot
    # handles at once: unbounded, a process that falls behind (a busy machine) piles up
    # thousands of requests, and httpx's pool spends its time sorting them out.
    sending = asyncio.Semaphore(JOBQUEUE_IN_FLIGHT)

    async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
        job = context.job
        assert job is not None and job.chat_id is not None
        async with sending:
            await context.bot.send_message(job.chat_id, str(job.data))

    async def schedule(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        assert app.job_queue is not None
        # The later ones first, the due ones last: each due one a second after it was
        # scheduled (and a few milliseconds after the one before), so that a slow start
        # on a busy machine does not leave them all overdue at once.
        for n in (*range(due, jobs), *range(min(due, jobs))):
            # The due ones a few milliseconds apart: all at one moment, an unpaced bot
            # opens thousands of connections at once and most of its sends time out.
            soon = timedelta(seconds=1 + n * DUE_SPACING)
            when = soon if n < due else timedelta(days=1 + n % 28)
            text = f"Herinnering {n}: vergeet de checklist niet."
            app.job_queue.run_once(
                remind,
                when,
                chat_id=FIRST_CHAT + n % chats,
                data=text,
                # Sent even when they are overdue when the scheduler starts: APScheduler
                # would otherwise skip them as missed.
                job_kwargs={"misfire_grace_time": None},
            )

    began = time.time()
    app = ApplicationBuilder().token(TOKEN).base_url(f"{api_url}/bot").post_init(schedule).build()
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=False)
    try:
        control.ready(_started(began, imports_began, imported))
        await _serve(control)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    control.reply({})


NICENESS = 5


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("mode", choices=("bot", "day", "echo", "bot-start", "jobqueue"))
    parser.add_argument("--api-url", required=True, help="the fake server's root URL")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--at", default=None, help="day: the moment the clock stands at")
    parser.add_argument("--paused", action="store_true", help="day: with the jobs paused")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=2000)
    parser.add_argument("--rate-limited", action="store_true", help="echo: with AIORateLimiter")
    parser.add_argument("--aiohttp", action="store_true", help="echo: on the bot's transport")
    parser.add_argument("--trace", default=None, help="bot: where its replies' time went")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # The fake server stands in for Telegram, whose machines do not share the bot's two
    # cores: the bot (and each baseline alike) runs a little behind it in the scheduler, so
    # the server notes each call when it arrives, not when the bot leaves it a core.
    os.nice(NICENESS)
    if args.mode == "bot":
        asyncio.run(bot(args.database_url, args.api_url, args.trace))
    elif args.mode == "day":
        at = datetime.fromisoformat(args.at)
        asyncio.run(day(args.database_url, args.api_url, at, paused=args.paused))
    elif args.mode == "echo":
        asyncio.run(echo(args.api_url, rate_limited=args.rate_limited, aiohttp=args.aiohttp))
    elif args.mode == "bot-start":
        asyncio.run(bot_start(args.database_url, args.api_url))
    else:
        asyncio.run(jobqueue(args.api_url, args.jobs, args.due))


if __name__ == "__main__":
    main()
