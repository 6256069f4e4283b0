"""Figure 2: CPU time per update, the bot against a bare python-telegram-bot echo bot, both
driven the same way over the same kind of fake server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from bot.app import build_application, start_beside, stop_beside
from bot.clock import FakeClock
from bot.context import AppContext
from bot.domain.programme import load_programmes
from bot.texts import get_texts
from db.session import Database
from fake_telegram import FakeTelegram

from .scene import echo_application, start_echo, stop_echo
from .world import AMS, fresh_database, settings_for

COMMAND = "/help"
# A school day, mid-morning: nothing about the hour changes what /help says.
NOW = datetime(2027, 1, 12, 10, 0, tzinfo=AMS)
# Users that warm the process up (first imports, first queries) before the count starts.
WARM_UP = 10
FIRST_USER = 500_000
REPLY_TIMEOUT = 30.0
# Updates arrive at this steady rate, under Telegram's 30 messages a second, for the bot and
# its baselines alike. Driven as fast as each answer came, the bot (which keeps replies 1/30 s
# apart, bot/ratelimit.py) sat idle between updates and the echo bot did not; on these
# machines the same work costs about 60 % more CPU right after an idle moment (an echo bot
# that sleeps 33 ms before answering: 2.9 → 6.0 ms an update), so that measured the pacing,
# not the work.
PER_SECOND = 25.0


async def _drive(tg: FakeTelegram, first: int, count: int) -> None:
    """Each of `count` users in turn sends the command and waits for the first reply, one
    every 1/PER_SECOND seconds (or right after the previous reply, if that came later)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    for index, user_id in enumerate(range(first, first + count)):
        await asyncio.sleep(max(0.0, began + index / PER_SECOND - loop.time()))
        user = tg.user(user_id, f"Gebruiker {user_id}")
        mark = tg.last_message_id(user.id)
        tg.push_text(user, COMMAND)
        await tg.wait_for_message(user.id, after_message_id=mark, timeout=REPLY_TIMEOUT)


async def _measure(tg: FakeTelegram, updates: int) -> float:
    """CPU milliseconds of this whole process (bot, fake server, driver) per update, each
    from someone writing for the first time."""
    await _drive(tg, FIRST_USER, WARM_UP)
    return await _timed(tg, updates)


async def _timed(tg: FakeTelegram, updates: int) -> float:
    """CPU milliseconds per update of the measured users sending once each; after `_measure`,
    from people the bot knows, as most updates are."""
    started = time.process_time()
    await _drive(tg, FIRST_USER + WARM_UP, updates)
    return (time.process_time() - started) * 1000 / updates


@dataclass(frozen=True)
class BotCpu:
    first: float  # ms per update from someone the bot does not know yet
    known: float  # ms per update from someone it knows


async def bot_ms(database_url: str | None, updates: int) -> BotCpu:
    """The bot as `python -m bot run` builds it, its jobs paused (the dispatcher is figure 1):
    each person's first /help (which stores them), then their second."""
    async with fresh_database(database_url) as url, FakeTelegram() as tg:
        settings = settings_for(url, tg.url)
        database = Database(url)
        context = AppContext(
            settings=settings,
            db=database,
            clock=FakeClock(NOW),
            programmes=load_programmes(),
            texts=get_texts(),
        )
        app = build_application(context, settings.require_token())
        await start_beside(app, jobs=False)
        try:
            first = await _measure(tg, updates)
            return BotCpu(first, await _timed(tg, updates))
        finally:
            await stop_beside(app)
            await database.dispose()


@contextlib.asynccontextmanager
async def echo_app(tg: FakeTelegram, *, rate_limited: bool) -> AsyncIterator[None]:
    """The bare echo bot, in this process, polled the way the bot is polled."""
    app = echo_application(tg.base_url, rate_limited=rate_limited)
    await start_echo(app)
    try:
        yield
    finally:
        await stop_echo(app)


async def echo_ms(updates: int, *, rate_limited: bool) -> float:
    """The echo bot, driven as the bot is."""
    async with FakeTelegram() as tg, echo_app(tg, rate_limited=rate_limited):
        return await _measure(tg, updates)
