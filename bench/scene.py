"""What the bot's own process needs: the Monday's moments, its clock, its settings, starting it
and sending the evening before; and the bare echo bot of the baselines.

Kept apart from `bench/world.py` (seeding and migrations) and from the fake server, so that a
bot process (bench/child.py) imports nothing the bot itself would not.
"""

from __future__ import annotations

import inspect
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import start_beside
from bot.clock import Clock
from bot.config import Settings
from bot.context import AppContext, BotApplication
from bot.domain.programme import load_programmes
from bot.sandbox import timemachine
from bot.texts import get_texts
from db.session import Database

AMS = ZoneInfo("Europe/Amsterdam")
TOKEN = "123456:TEST-TOKEN"
COORDINATOR_ID = 1000
# Monday of week 1 for every pair: a school week with no holiday in any region.
MONDAY = date(2027, 2, 1)
EIGHT = datetime(MONDAY.year, MONDAY.month, MONDAY.day, 8, 0, tzinfo=AMS)
SUNDAY_EVENING = EIGHT - timedelta(hours=12)

EchoApplication = Application[Any, Any, Any, Any, Any, Any]


class RunningClock:
    """The bot's clock: stands still where it is set, or runs with real time from there.

    Running is what production's system clock does; standing still lets the evening before
    be prepared without time passing.
    """

    def __init__(self, start: datetime) -> None:
        self._base = start.astimezone(UTC)
        self._anchor: float | None = None

    def now(self) -> datetime:
        if self._anchor is None:
            return self._base
        return self._base + timedelta(seconds=time.monotonic() - self._anchor)

    def set(self, moment: datetime) -> None:
        """Stand still at `moment`."""
        self._base = moment.astimezone(UTC)
        self._anchor = None

    def run_from(self, moment: datetime) -> float:
        """Run with real time from `moment` on; returns the monotonic time it stands for
        (the same clock in every process of the machine)."""
        self._base = moment.astimezone(UTC)
        self._anchor = time.monotonic()
        return self._anchor


def settings_for(database_url: str, api_url: str) -> Settings:
    """The bot's defaults, pointed at the bench database and the fake server."""
    return Settings(
        _env_file=None,
        telegram_token=TOKEN,
        database_url=database_url,
        coordinator_ids=(COORDINATOR_ID,),
        telegram_api_url=api_url,
        default_language="nl",
        log_level="WARNING",
    )


def bot_context(database_url: str, api_url: str, clock: Clock) -> AppContext:
    """The measured bot's resources, as `python -m bot run` has them: this process plays the
    bot (`owns_process`)."""
    return AppContext(
        settings=settings_for(database_url, api_url),
        db=Database(database_url),
        clock=clock,
        programmes=load_programmes(),
        texts=get_texts(),
        owns_process=True,
    )


async def start_bot(app: BotApplication, *, jobs: bool, wait_for_startup: bool = True) -> None:
    """`start_beside`, saying whether to wait for start-up re-planning where the bot can be
    told (`wait_for_startup`); older versions always wait."""
    if "wait_for_startup" in inspect.signature(start_beside).parameters:
        starting: Any = start_beside
        await starting(app, jobs=jobs, wait_for_startup=wait_for_startup)
    else:
        await start_beside(app, jobs=jobs)


async def evening_before(context: AppContext, app: BotApplication, clock: RunningClock) -> None:
    """Send what falls due before Monday 08:00 at its own moment, as a running bot would;
    the clock is left standing just before 08:00."""
    before_eight = EIGHT - timedelta(microseconds=1)
    for _ in range(timemachine.MAX_ROUNDS):
        due = await timemachine.next_due(context)
        if due is None or due > before_eight:
            break
        clock.set(max(due, clock.now()))
        await timemachine.dispatch(context, app.bot)
    clock.set(before_eight)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def echo_application(
    base_url: str, *, rate_limited: bool, aiohttp: bool = False
) -> EchoApplication:
    """The bare python-telegram-bot echo bot: one MessageHandler replying with the text. With
    `aiohttp`, on the bot's own transport (bot/request.py) instead of python-telegram-bot's."""
    builder = ApplicationBuilder().token(TOKEN).base_url(base_url)
    if aiohttp:
        from bot.request import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    app = (
        builder.rate_limiter(AIORateLimiter(max_retries=1)).build()
        if rate_limited
        else builder.build()
    )
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    return app


async def start_echo(app: EchoApplication) -> None:
    """Started and polled the way the bot is polled."""
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=False)


async def stop_echo(app: EchoApplication) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
