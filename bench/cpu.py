"""Figure 2: CPU time per update, the bot against a bare python-telegram-bot echo bot, both
driven the same way over the same kind of fake server.

Each bot runs in a process of its own (bench/child.py, bench/remote.py) and only that
process's CPU is counted, as for the Monday's pushes: the fake server and the simulated
people run in the bench's process. Counted in one process with them, the figure held the fake
server's own work too, which is more for the bot's replies (several lines of HTML, parsed as
Telegram would) than for the echo bot's one plain line.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from fake_telegram import FakeTelegram

from . import remote
from .remote import Child
from .world import AMS, fresh_database

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


async def _cpu_s(bot: Child) -> float:
    """The CPU seconds the bot's process has used so far (all its threads)."""
    return float((await bot.ask("memory"))["cpu_s"])


async def _measure(tg: FakeTelegram, bot: Child, updates: int) -> float:
    """CPU milliseconds of the bot's process per update, each from someone writing for the
    first time."""
    await _drive(tg, FIRST_USER, WARM_UP)
    return await _timed(tg, bot, updates)


async def _timed(tg: FakeTelegram, bot: Child, updates: int) -> float:
    """CPU milliseconds per update of the measured users sending once each; after `_measure`,
    from people the bot knows, as most updates are."""
    started = await _cpu_s(bot)
    await _drive(tg, FIRST_USER + WARM_UP, updates)
    return (await _cpu_s(bot) - started) * 1000 / updates


@dataclass(frozen=True)
class BotCpu:
    first: float  # ms per update from someone the bot does not know yet
    known: float  # ms per update from someone it knows


async def bot_ms(database_url: str | None, updates: int) -> BotCpu:
    """The bot as `python -m bot run` builds it, its jobs paused (the dispatcher is figure 1):
    each person's first /help (which stores them), then their second."""
    async with fresh_database(database_url) as url, FakeTelegram() as tg:
        command = ("day", "--api-url", tg.url, "--database-url", url, "--at", NOW.isoformat())
        async with remote.running(*command, "--paused") as bot:
            first = await _measure(tg, bot, updates)
            return BotCpu(first, await _timed(tg, bot, updates))


async def echo_ms(updates: int, *, rate_limited: bool, aiohttp: bool = False) -> float:
    """The echo bot, driven as the bot is."""
    flags = (*(("--rate-limited",) if rate_limited else ()), *(("--aiohttp",) if aiohttp else ()))
    async with FakeTelegram() as tg, remote.running("echo", "--api-url", tg.url, *flags) as bot:
        return await _measure(tg, bot, updates)
