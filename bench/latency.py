"""Reply latency: people using the bot while it pushes a city's Monday, and while it is idle.

Each simulated person sends a command, waits until the bot has handled it, thinks a moment
and sends the next, for a fixed time. A reply's latency runs from the moment the update is
handed to the fake server to the moment the first message the bot sends back arrives there
(its sendMessage call, by the server's clock). Pushes that land in the same chat meanwhile
are recognised afterwards by their message id in the outbox and do not count as replies.

The people and the fake server run in the bench's process, the bot (and the echo bot of the
baseline) in a process of its own (bench/remote.py), which says when it has handled each
update.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from bot.concurrency import PerChatUpdateProcessor
from bot.context import BotApplication
from db.models import OUTBOX_SENT, OutboxMessage
from db.session import Database
from fake_telegram import FakeTelegram, WaitTimeout

from . import remote
from .push import RemoteMonday, remote_monday
from .world import COORDINATOR_ID, fresh_database, member_ids

# What teachers and begeleiders type on a Monday of the programme's first week; the most
# used commands appear more than once. Each mix has one command that writes.
TEACHER_MIX = (
    "/vandaag",
    "/vandaag",
    "/vandaag",
    "/help",
    "/checklist",
    "/programma",
    "/agenda",
    "/klas",
    "/incidenten",
    "/klas {size}",  # writes: the class size
)
BEGELEIDER_MIX = (
    "/vandaag",
    "/vandaag",
    "/vandaag",
    "/help",
    "/checklist",
    "/programma",
    "/agenda",
    "/incidenten",
    "/taal nl",  # writes: the language (and the menu)
)
COORDINATOR_MIX = ("/vandaag", "/help", "/berichten", "/overzicht")
# Seconds between a reply and the next command: reading it and typing the next. At least a
# second, or Telegram's one message per second per chat would make the reply wait.
RUSH_THINK = (3.0, 7.0)
IDLE_THINK = (1.0, 3.0)
RUSH_USERS = 100
IDLE_USERS = 10
RUSH_SECONDS = 30.0
IDLE_SECONDS = 15.0
# The echo bot's figures hardly vary: half the time is enough for them.
ECHO_SHARE = 0.5
# A reply slower than this counts as missing (and the person carries on).
REPLY_TIMEOUT = 30.0
GRACE_SECONDS = 5.0
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})


@dataclass(frozen=True)
class Person:
    user_id: int
    commands: tuple[str, ...]


@dataclass
class Sent:
    user_id: int
    text: str
    at: float  # time.time() when handed to the fake server
    mark: int  # the chat's last message id before it


@dataclass
class LatencyRun:
    latencies_ms: list[float]
    missing: int  # commands without any reply
    commands: dict[str, int] = field(default_factory=dict)
    pushes: int = 0  # pushes sent while the people were busy
    seconds: float = 0.0
    by_command: dict[str, list[float]] = field(default_factory=dict)
    # Replies to a chat that had a push less than a second before (which they must wait for).
    behind_push: int = 0
    # CPU seconds of the bot's process while the people were busy.
    bot_cpu_s: float = 0.0

    def p95_by_command(self) -> dict[str, float]:
        return {
            name: round(LatencyRun(values, 0).p95, 1) for name, values in self.by_command.items()
        }

    def quantile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p95(self) -> float:
        return self.quantile(0.95)

    @property
    def worst(self) -> float:
        return max(self.latencies_ms, default=float("nan"))


def city_people(count: int) -> list[Person]:
    """The coordinator and members of the first pairs: teachers A and B, two begeleiders."""
    people = [Person(COORDINATOR_ID, COORDINATOR_MIX)]
    pair = 0
    while len(people) < count:
        for index, user_id in enumerate(member_ids(pair)):
            people.append(Person(user_id, TEACHER_MIX if index < 2 else BEGELEIDER_MIX))
        pair += 1
    return people[:count]


Done = Callable[[int, int, int], Awaitable[None]]


def bot_done(app: BotApplication, tg: FakeTelegram) -> Done:
    """Waits until the bot has handled the update (all its replies sent)."""
    processor = app.update_processor

    async def done(update_id: int, chat_id: int, mark: int) -> None:
        if isinstance(processor, PerChatUpdateProcessor):
            await processor.wait_processed(update_id)
        else:
            await tg.wait_for_message(chat_id, after_message_id=mark, timeout=REPLY_TIMEOUT)

    return done


def child_done(bot: remote.Child) -> Done:
    """Waits until the bot in its own process says it has handled the update."""

    async def done(update_id: int, chat_id: int, mark: int) -> None:
        await bot.processed(update_id)

    return done


def echo_done(tg: FakeTelegram) -> Done:
    async def done(update_id: int, chat_id: int, mark: int) -> None:
        await tg.wait_for_message(chat_id, after_message_id=mark, timeout=REPLY_TIMEOUT)

    return done


async def drive(
    tg: FakeTelegram,
    people: Sequence[Person],
    done: Done,
    *,
    seconds: float,
    think: tuple[float, float],
    until: asyncio.Event | None = None,
    seed: int = 12,
) -> list[Sent]:
    """Everyone sends commands in a loop for `seconds` (and until `until` is set, if given);
    returns what was sent, when. A `{size}` or `{lang}` in a command is filled in at random:
    a class size, a language."""
    sent: list[Sent] = []
    rng = random.Random(seed)
    stop = time.monotonic() + seconds

    def going() -> bool:
        return time.monotonic() < stop or (until is not None and not until.is_set())

    async def person(who: Person, start_after: float, own: random.Random) -> None:
        user = tg.user(who.user_id, f"Lid {who.user_id}")
        await asyncio.sleep(min(start_after, seconds) if until is None else start_after)
        while going():
            text = own.choice(who.commands).format(
                size=own.randint(20, 28), lang=own.choice(("nl", "en"))
            )
            mark = tg.last_message_id(who.user_id)
            at = time.time()
            update_id = tg.push_text(user, text)
            sent.append(Sent(who.user_id, text, at, mark))
            # A reply that never comes (a 429 to the echo bot) holds the person up to the end
            # of the run and a little after, not longer.
            wait = REPLY_TIMEOUT
            if until is None:
                wait = min(wait, max(0.0, stop - time.monotonic()) + GRACE_SECONDS)
            with contextlib.suppress(TimeoutError, WaitTimeout):
                async with asyncio.timeout(wait):
                    await done(update_id, who.user_id, mark)
            # Thinking ends early when the time is up (unless waiting for `until`).
            pause = own.uniform(*think)
            if until is None:
                pause = min(pause, max(0.0, stop - time.monotonic()))
            await asyncio.sleep(pause)

    await asyncio.gather(
        *(person(who, rng.uniform(0, think[1]), random.Random(rng.random())) for who in people)
    )
    return sent


def arrivals(tg: FakeTelegram, since: float) -> dict[tuple[int, int], float]:
    """When each message the bot sent arrived at the server: (chat, message id) → time."""
    found: dict[tuple[int, int], float] = {}
    for call in tg.calls:
        if not call.ok or call.timestamp < since or call.method.lower() not in SEND_METHODS:
            continue
        result = call.result
        if isinstance(result, dict) and "message_id" in result:
            found[(int(result["chat"]["id"]), int(result["message_id"]))] = (
                call.timestamp + call.duration
            )
    return found


async def push_ids(database: Database | None, chats: set[int]) -> set[tuple[int, int]]:
    """(chat, message id) of every push the outbox has sent to these chats."""
    if database is None:
        return set()
    async with database.read() as session:
        rows = await session.execute(
            select(OutboxMessage.user_id, OutboxMessage.telegram_message_id).where(
                OutboxMessage.status == OUTBOX_SENT,
                OutboxMessage.telegram_message_id.is_not(None),
            )
        )
        return {
            (int(user), int(message))
            for user, message in rows.all()
            if message is not None and int(user) in chats
        }


def measure(
    tg: FakeTelegram, sent: list[Sent], pushes: set[tuple[int, int]], since: float
) -> LatencyRun:
    """The latency of each command's first reply (pushes to that chat left out)."""
    arrived = arrivals(tg, since)
    pushed: dict[int, list[float]] = {}
    for chat, message_id in pushes:
        if (chat, message_id) in arrived:
            pushed.setdefault(chat, []).append(arrived[(chat, message_id)])
    run = LatencyRun([], 0)
    for command in sent:
        name = command.text.split()[0]
        run.commands[name] = run.commands.get(name, 0) + 1
        replies = [
            arrived[(command.user_id, m.message_id)]
            for m in tg.messages_since(command.user_id, command.mark)
            if (command.user_id, m.message_id) not in pushes
            and (command.user_id, m.message_id) in arrived
        ]
        first = min((t for t in replies if t >= command.at), default=None)
        if first is None:
            run.missing += 1
            continue
        latency = (first - command.at) * 1000
        run.latencies_ms.append(latency)
        run.by_command.setdefault(name, []).append(latency)
        # Telegram's one message a second per chat: a push just before makes the reply wait.
        if any(command.at - 1.0 < t < first for t in pushed.get(command.user_id, [])):
            run.behind_push += 1
    return run


@dataclass(frozen=True)
class BotLatency:
    idle: LatencyRun
    rush: LatencyRun
    setup_s: float
    startup_s: float


async def bot_latency(
    database_url: str | None,
    pairs: int,
    *,
    rush_seconds: float = RUSH_SECONDS,
    trace: str | None = None,
) -> BotLatency:
    """Idle first (the clock standing before Monday 08:00, nothing due), then the rush; the
    bot in a process of its own (`trace`: where its time went in the rush, bench/trace.py)."""
    async with (
        fresh_database(database_url) as url,
        remote_monday(url, pairs, trace=trace) as world,
    ):
        people = city_people(RUSH_USERS)
        chats = {p.user_id for p in people}
        done = child_done(world.bot)
        # The jobs run as in production; before 08:00 they find nothing to send.
        await world.jobs()
        began = time.time()
        cpu = await _cpu(world.bot)
        sent = await drive(
            world.tg, people[:IDLE_USERS], done, seconds=IDLE_SECONDS, think=IDLE_THINK
        )
        cpu = await _cpu(world.bot) - cpu
        idle = measure(world.tg, sent, await push_ids(world.database, chats), began)
        idle.seconds = IDLE_SECONDS
        idle.bot_cpu_s = cpu
        rush = await _rush(world, people, done, chats, rush_seconds)
        return BotLatency(idle, rush, world.setup_s, world.startup_s)


async def _rush(
    world: RemoteMonday, people: list[Person], done: Done, chats: set[int], seconds: float
) -> LatencyRun:
    await world.rush()
    began = time.time()
    cpu = await _cpu(world.bot)
    sent_before = await _sent_pushes(world.database)
    sent = await drive(world.tg, people, done, seconds=seconds, think=RUSH_THINK)
    cpu = await _cpu(world.bot) - cpu
    run = measure(world.tg, sent, await push_ids(world.database, chats), began)
    run.bot_cpu_s = cpu
    run.pushes = await _sent_pushes(world.database) - sent_before
    run.seconds = seconds
    return run


async def _cpu(bot: remote.Child) -> float:
    """CPU seconds the bot's process has used so far."""
    return float((await bot.ask("memory"))["cpu_s"])


async def _sent_pushes(database: Database) -> int:
    async with database.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OUTBOX_SENT)
        )
        return int(count or 0)


async def echo_latency(users: int, seconds: float, think: tuple[float, float]) -> LatencyRun:
    """The bare echo bot, in a process of its own, on the same strict fake server under the
    same load."""
    async with (
        FakeTelegram(strict_limits=True) as tg,
        remote.running("echo", "--api-url", tg.url) as echo,
    ):
        people = city_people(users)
        began = time.time()
        cpu = await _cpu(echo)
        sent = await drive(tg, people, echo_done(tg), seconds=seconds, think=think)
        cpu = await _cpu(echo) - cpu
        run = measure(tg, sent, set(), began)
        run.bot_cpu_s = cpu
        run.seconds = seconds
        return run
