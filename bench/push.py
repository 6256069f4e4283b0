"""Figure 1: the Monday push rate of a city, with the default settings, against a fake server
that answers 429 like Telegram.

The city, the fake server and the bot in a process of its own, its evening before sent, are
set up by `remote_monday`, which the reply latency (bench/latency.py) shares: its users talk
to the bot while this Monday is pushed. The bench's process runs the fake server and watches
it; the bot's process (bench/child.py `bot`) holds the bot alone. The holiday import beside
people working (bench/locks.py) runs on the same Monday.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from db.models import OUTBOX_PENDING, OUTBOX_SENDING, OutboxMessage
from db.session import Database
from fake_telegram import FakeTelegram
from fake_telegram.limits import LimitedCall

from . import remote
from .scene import EIGHT, SUNDAY_EVENING
from .world import (
    City,
    fresh_database,
    seed_city,
)

LATE_NOTE = "Later verstuurd dan gepland"
# A Monday that has not settled by then is reported as it stands.
GIVE_UP_AFTER = timedelta(minutes=20)
# Settling is watched on the fake server's side (free); the database is asked only when the
# server has seen as many messages as rows were due, or now and then in case some row ends
# otherwise (skipped, failed). A COUNT over the outbox every half second would take CPU
# from the bot being measured.
WATCH_SECONDS = 0.5
ASK_DATABASE_EVERY = 5.0


@dataclass(frozen=True)
class MondayRun:
    due_rows: int
    due_kinds: dict[str, int]
    sent: int  # messages Telegram let through (a long row may be several)
    refused: int  # 429 answers
    # Which limit each 429 was for ("30/s": the overall window, "chat": one a second).
    refused_for: list[str]
    late_notes: int
    first_to_last_s: float
    rate: float  # messages per second, first send to last
    last_left_s: float  # seconds after 08:00
    settled: bool
    setup_s: float
    startup_s: float


@dataclass
class RemoteMonday:
    """A seeded city, the strict fake server in this process, and the bot in a process of its
    own (bench/child.py `bot`), started with paused jobs, its clock standing just before
    Monday 08:00 with the evening before sent."""

    url: str
    city: City
    tg: FakeTelegram
    bot: remote.Child
    # This process's own connection, for looking at the outbox; the bot has its own.
    database: Database
    setup_s: float
    startup_s: float
    marks: dict[int, int] = field(default_factory=dict)
    logged: int = 0
    due_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def chats(self) -> list[int]:
        return [self.city.coordinator, *self.city.members]

    async def jobs(self) -> None:
        """Let the bot's jobs run, its clock standing before 08:00 (nothing is due)."""
        await self.bot.ask("jobs")

    async def rush(self) -> float:
        # This process plays Telegram: the seeded city and the server's record of every
        # message are left out of its garbage collector's full passes, which would otherwise
        # hold up its event loop for tens of milliseconds every half minute and then note
        # the calls waiting meanwhile as arriving at the same moment.
        gc.collect()
        gc.freeze()
        return await self._rush()

    async def _rush(self) -> float:
        """The bot's clock runs from 08:00 and its JobQueue runs the dispatcher as in
        production (DISPATCH_INTERVAL_SECONDS, DISPATCH_BATCH_SIZE, Telegram's limits);
        returns the monotonic moment standing for 08:00 (the machine's monotonic clock is
        the same in both processes)."""
        answer = await self.bot.ask("rush")
        return float(answer["eight"])


@contextlib.asynccontextmanager
async def remote_monday(
    url: str, pairs: int, *, trace: str | None = None
) -> AsyncIterator[RemoteMonday]:
    """The city of `pairs` seeded on the migrated database `url`, the fake server here and
    the bot in its own process, ready for 08:00 (`trace`: see bench/trace.py)."""
    began = time.monotonic()
    city = await seed_city(url, pairs, now=SUNDAY_EVENING)
    ready = time.monotonic()
    async with FakeTelegram(strict_limits=True) as tg:
        for user_id in [city.coordinator, *city.members]:
            tg.open_chat(tg.user(user_id, f"Lid {user_id}"))
        database = Database(url)
        try:
            traced = ("--trace", trace) if trace else ()
            command = ("bot", "--api-url", tg.url, "--database-url", url, *traced)
            async with remote.running(*command) as bot:
                world = RemoteMonday(
                    url=url,
                    city=city,
                    tg=tg,
                    bot=bot,
                    database=database,
                    setup_s=ready - began,
                    startup_s=float(bot.ready["startup_s"]),
                )
                world.marks = {chat: tg.last_message_id(chat) for chat in world.chats}
                world.logged = len(tg.limits.log)
                world.due_kinds = await _due_kinds(database)
                yield world
        finally:
            gc.unfreeze()  # as the rush left it (RemoteMonday.rush)
            await database.dispose()


async def monday(
    database_url: str | None, pairs: int, *, trace: str | None = None
) -> tuple[MondayRun, dict[str, float]]:
    """The Monday of a city of `pairs` on a fresh database, the bot in its own process; with
    that process's memory (`rss_mb`, `peak_mb`) the moment every due row is settled
    (`trace`: where the bot's time went from 08:00, bench/trace.py)."""
    async with (
        fresh_database(database_url) as url,
        remote_monday(url, pairs, trace=trace) as world,
    ):
        before = await world.bot.ask("memory")
        cpu = float(before["cpu_s"])
        eight = await world.rush()
        settled = await _settle(world)
        held = await world.bot.ask("memory")
        # Its memory at 08:00, started and the evening before sent.
        held["rss_at_eight_mb"] = float(before["rss_mb"])
        # The bot's CPU seconds from 08:00 until the Monday was settled.
        held["rush_cpu_s"] = float(held["cpu_s"]) - cpu
        # Stopped before the figures are read: nothing more arrives meanwhile.
        await world.bot.stop()
        return _figures(world, eight, settled), held


def _figures(world: RemoteMonday, eight: float, settled: bool) -> MondayRun:
    tg = world.tg
    calls = tg.limits.log[world.logged :]
    moments = [call.at for call in calls if call.allowed]
    late = sum(
        LATE_NOTE in (message.text or "")
        for chat in world.chats
        for message in tg.messages_since(chat, world.marks[chat])
    )
    span = moments[-1] - moments[0] if len(moments) > 1 else 0.0
    return MondayRun(
        due_rows=sum(world.due_kinds.values()),
        due_kinds=world.due_kinds,
        sent=len(moments),
        refused=sum(not call.allowed for call in calls),
        refused_for=why_refused(calls),
        late_notes=late,
        first_to_last_s=span,
        rate=(len(moments) - 1) / span if span else 0.0,
        last_left_s=moments[-1] - eight if moments else 0.0,
        settled=settled,
        setup_s=world.setup_s,
        startup_s=world.startup_s,
    )


def why_refused(calls: list[LimitedCall]) -> list[str]:
    """For each refused call, the limit it met: the overall 30 a second, or its chat's one a
    second (with how close after that chat's last message it came)."""
    found: list[str] = []
    allowed: list[LimitedCall] = []
    for call in calls:
        if call.allowed:
            allowed.append(call)
            continue
        in_second = sum(1 for a in allowed if a.at > call.at - 1.0)
        last = next((a.at for a in reversed(allowed) if a.chat_id == call.chat_id), None)
        if last is not None and call.at - last < 1.0:
            found.append(f"chat {call.chat_id} after {1000 * (call.at - last):.0f} ms")
        else:
            found.append(f"{in_second} in the second before, {call.at - calls[0].at:.1f} s in")
    return found


async def unsettled(database: Database) -> int:
    """Rows due by 08:00 not yet sent or settled otherwise."""
    async with database.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.status.in_((OUTBOX_PENDING, OUTBOX_SENDING)),
                OutboxMessage.due_at <= EIGHT,
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


def sent_since(world: RemoteMonday) -> int:
    """Messages the server let through since the evening before (a cheap look at its log)."""
    log = world.tg.limits.log
    return sum(1 for index in range(world.logged, len(log)) if log[index].allowed)


async def _settle(world: RemoteMonday) -> bool:
    """Wait until every row due by 08:00 is settled (False: gave up)."""
    due = sum(world.due_kinds.values())
    deadline = time.monotonic() + GIVE_UP_AFTER.total_seconds()
    asked = time.monotonic()
    seen = world.logged
    allowed = 0
    while time.monotonic() < deadline:
        # Counted incrementally: the log only grows.
        log = world.tg.limits.log
        allowed += sum(1 for index in range(seen, len(log)) if log[index].allowed)
        seen = len(log)
        if allowed >= due or time.monotonic() - asked >= ASK_DATABASE_EVERY:
            asked = time.monotonic()
            if not await unsettled(world.database):
                return True
        await asyncio.sleep(WATCH_SECONDS)
    return False
