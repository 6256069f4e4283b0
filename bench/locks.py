"""No "database is locked": many writers at once, and a holiday import beside people working.

(a) The begeleiders of one pair all count at the same moment (`/aanwezig 24 22`, then the tap
on the moment when the bot asks for it). (b) The holiday import of the command line
(`python -m bot holidays import FILE`, a process of its own as in production) re-plans every
pair of a city while people use the bot, teachers changing their class size and begeleiders
their language, so that every write can be checked afterwards.

Errors: replies saying something went wrong, ERROR records in the log (among them any
OperationalError, "database is locked"), commands that got no answer, 429 answers, and a
failing import. Lost writes: counts or changes that were sent but are not in the database.

As for the Monday, the bot runs in a process of its own (bench/remote.py), and the fake server
and the people in the bench's: the server notes each call as it arrives from the bot, not when
an event loop shared with two hundred people gets round to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.texts import get_texts
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    ExchangeSide,
    Headcount,
    Membership,
    User,
)
from db.session import Database
from fake_telegram import BotMessage, FakeTelegram, FakeUser, parse_text

from . import remote
from .latency import BEGELEIDER_MIX, Done, Person, Sent, child_done, drive
from .push import remote_monday, why_refused
from .world import AMS, fresh_database, member_ids, seed_city

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = 200
FIRST_COUNTER = 700_000
# Wednesday of week 2: the standard programme's first exchange day, a little after the start.
EXCHANGE_DAY = datetime(2027, 2, 10, 9, 5, tzinfo=AMS)
WORKERS = 100
WORK_THINK = (1.0, 3.0)
# The people keep working this long after the import has finished (and at least this long).
AFTER_IMPORT_SECONDS = 2.0
IMPORT_TIMEOUT = 300.0
STEP_TIMEOUT = 120.0
# A holiday inside the programme's last weeks, so that every pair's plan changes.
HOLIDAYS_CSV = "regio;naam;begin;eind\nnoord;Voorjaarsvakantie;20-02-2027;28-02-2027\n"
TEACHER_WRITES = (
    "/vandaag",
    "/vandaag",
    "/help",
    "/checklist",
    "/programma",
    "/klas",
    "/klas {size}",
    "/klas {size}",
)
BEGELEIDER_WRITES = (*BEGELEIDER_MIX, "/taal {lang}")


def error_texts() -> tuple[str, ...]:
    """What the bot says when a handler failed, as the user sees it, in each language."""
    texts = get_texts()
    return tuple(parse_text(texts.get(lang, "errors.sorry"), "HTML").text for lang in ("nl", "en"))


def is_error_reply(message: BotMessage) -> bool:
    text = message.text or ""
    return any(sorry in text for sorry in error_texts()) or text.startswith("⚠️")


@dataclass(frozen=True)
class Logged:
    """The ERROR records the bot's process logged (bench/child.py `errors`)."""

    errors: int
    locked: int
    samples: list[str]

    @classmethod
    async def of(cls, bot: remote.Child) -> Logged:
        seen: dict[str, Any] = await bot.ask("errors")
        return cls(int(seen["errors"]), int(seen["locked"]), list(seen["samples"]))


@dataclass
class LockRun:
    lost: int  # writes sent but not stored
    error_replies: int = 0
    log_errors: int = 0
    locked: int = 0
    unanswered: int = 0
    refused: int = 0
    writes: int = 0
    seconds: float = 0.0
    import_s: float | None = None
    import_failed: bool = False
    samples: list[str] = field(default_factory=list)
    # Which limit each 429 met (bench/push.py `why_refused`).
    refused_for: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Error replies, ERROR log records, unanswered commands, 429s and a failed import."""
        return (
            self.error_replies
            + self.log_errors
            + self.unanswered
            + self.refused
            + int(self.import_failed)
        )

    def as_extra(self) -> dict[str, object]:
        return {
            key: value
            for key, value in vars(self).items()
            if key != "lost" and value not in (None, [])
        }


# -- (a) 200 begeleiders of one pair count at once ----------------------------------------


@contextlib.asynccontextmanager
async def _counting_pair(
    url: str, counters: int
) -> AsyncIterator[tuple[FakeTelegram, remote.Child, Database]]:
    """One pair with `counters` begeleiders on its first exchange day, the bot running in a
    process of its own."""
    seeded_at = EXCHANGE_DAY - timedelta(days=20)
    city = await seed_city(url, 1, now=seeded_at)
    database = Database(url)
    try:
        async with database.write() as session:
            exchange_id = await session.scalar(select(Membership.exchange_id).limit(1))
            assert exchange_id is not None
            for n in range(counters):
                user_id = FIRST_COUNTER + n
                session.add(
                    User(
                        id=user_id,
                        display_name=f"Begeleider {n}",
                        language="nl",
                        is_coordinator=False,
                        active=True,
                        created_at=seeded_at,
                        last_seen_at=seeded_at,
                    )
                )
                session.add(
                    Membership(
                        user_id=user_id,
                        exchange_id=exchange_id,
                        role=ROLE_BEGELEIDER,
                        side=None,
                        joined_at=seeded_at,
                    )
                )
        async with FakeTelegram(strict_limits=True) as tg:
            # The pair's own people have talked to the bot before: its pushes reach them.
            for user_id in [city.coordinator, *city.members]:
                tg.open_chat(tg.user(user_id, f"Lid {user_id}"))
            at = ("--at", EXCHANGE_DAY.isoformat())
            command = ("day", "--api-url", tg.url, "--database-url", url, *at)
            async with remote.running(*command) as bot:
                yield tg, bot, database
    finally:
        await database.dispose()


async def count_both(tg: FakeTelegram, done: Done, user: FakeUser, counts: str) -> list[BotMessage]:
    """`/aanwezig A B`, and a tap on the first moment offered if the bot asks which."""
    mark = tg.last_message_id(user.id)
    async with asyncio.timeout(STEP_TIMEOUT):
        await done(tg.push_text(user, f"/aanwezig {counts}"), user.id, mark)
    replies = tg.messages_since(user.id, mark)
    if replies and replies[-1].buttons:
        question = replies[-1]
        data = question.buttons[0][0].callback_data
        assert data is not None
        mark = tg.last_message_id(user.id)
        async with asyncio.timeout(STEP_TIMEOUT):
            await done(tg.push_callback(user, question.message_id, data), user.id, mark)
        replies += tg.messages_since(user.id, mark)
    return replies


async def counting_at_once(database_url: str | None, counters: int = COUNTERS) -> LockRun:
    async with fresh_database(database_url) as url, _counting_pair(url, counters) as running:
        tg, bot, database = running
        logged = len(tg.limits.log)
        users = [tg.user(FIRST_COUNTER + n, f"Begeleider {n}") for n in range(counters)]
        done = child_done(bot)
        began = time.monotonic()
        outcomes = await asyncio.gather(
            *(count_both(tg, done, user, "24 22") for user in users), return_exceptions=True
        )
        seconds = time.monotonic() - began
        bot_log = await Logged.of(bot)
        async with database.read() as session:
            stored = await session.scalar(select(func.count()).select_from(Headcount))
        replies = [m for o in outcomes if isinstance(o, list) for m in o]
        unanswered = sum(1 for o in outcomes if not isinstance(o, list) or not o)
        error_replies = sum(is_error_reply(m) for m in replies)
        calls = tg.limits.log[logged:]
        refused = sum(not call.allowed for call in calls)
        sent = 2 * counters
        return LockRun(
            lost=max(0, sent - int(stored or 0)),
            error_replies=error_replies,
            log_errors=bot_log.errors,
            locked=bot_log.locked,
            unanswered=unanswered,
            refused=refused,
            writes=sent,
            seconds=seconds,
            samples=bot_log.samples,
            refused_for=why_refused(calls),
        )


# -- (b) a holiday import for a city while people work ------------------------------------


def workers(count: int, pairs: int) -> list[Person]:
    """Teachers and begeleiders of the first of the city's `pairs` (the coordinator is not
    among them): fewer than `count` in a city too small to have them."""
    people: list[Person] = []
    pair = 0
    while len(people) < count and pair < pairs:
        for index, user_id in enumerate(member_ids(pair)):
            people.append(Person(user_id, TEACHER_WRITES if index < 2 else BEGELEIDER_WRITES))
        pair += 1
    return people[:count]


def workforce(pairs: int) -> int:
    """How many work during the holiday import in a city of `pairs`."""
    return len(workers(WORKERS, pairs))


async def run_import(url: str, csv: Path) -> tuple[int, str, float]:
    """`python -m bot holidays import FILE` on this database; (exit code, stderr, seconds)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_TOKEN", "DATABASE_URL", "COORDINATOR_IDS", "DEFAULT_LANGUAGE"}
    }
    env["PYTHONPATH"] = str(ROOT)
    env["DATABASE_URL"] = url
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "holidays",
        "import",
        str(csv),
        env=env,
        cwd=csv.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(IMPORT_TIMEOUT):
        _, stderr = await process.communicate()
    return int(process.returncode or 0), stderr.decode(errors="replace"), time.monotonic() - began


async def _final_values(database: Database, people: list[Person]) -> dict[int, str]:
    """Each worker's class size (teachers) or language (begeleiders) as stored."""
    ids = [p.user_id for p in people]
    async with database.read() as session:
        sizes = await session.execute(
            select(Membership.user_id, ExchangeSide.class_size)
            .join(
                ExchangeSide,
                (ExchangeSide.exchange_id == Membership.exchange_id)
                & (ExchangeSide.side == Membership.side),
            )
            .where(Membership.user_id.in_(ids), Membership.role == ROLE_TEACHER)
        )
        languages = await session.execute(select(User.id, User.language).where(User.id.in_(ids)))
        found = {int(user): str(language) for user, language in languages.all()}
        found.update({int(user): str(size) for user, size in sizes.all()})
    return found


def _lost(sent: list[Sent], stored: dict[int, str]) -> tuple[int, int]:
    """(writes sent, people whose last write is not what the database holds)."""
    last: dict[int, str] = {}
    writes = 0
    for command in sent:
        words = command.text.split()
        if len(words) == 2 and words[0] in ("/klas", "/taal"):
            writes += 1
            last[command.user_id] = words[1]
    return writes, sum(1 for user, value in last.items() if stored.get(user) != value)


async def import_while_working(
    database_url: str | None, pairs: int, users: int = WORKERS
) -> LockRun:
    async with fresh_database(database_url) as url, remote_monday(url, pairs) as world:
        tg = world.tg
        people = workers(users, pairs)
        await world.jobs()
        logged = len(tg.limits.log)
        marks = {p.user_id: tg.last_message_id(p.user_id) for p in people}
        finished = asyncio.Event()
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="wijkbot-bench-") as tmp:
            csv = Path(tmp) / "vakanties.csv"
            csv.write_text(HOLIDAYS_CSV, encoding="utf-8")
            working = asyncio.create_task(
                drive(
                    tg, people, child_done(world.bot), seconds=0.0, think=WORK_THINK, until=finished
                )
            )
            # Everyone is at work before the import starts, and goes on a little after it.
            await asyncio.sleep(AFTER_IMPORT_SECONDS)
            code, stderr, import_s = await run_import(url, csv)
            await asyncio.sleep(AFTER_IMPORT_SECONDS)
            finished.set()
            sent = await working
        seconds = time.monotonic() - began
        bot_log = await Logged.of(world.bot)
        replies = [m for p in people for m in tg.messages_since(p.user_id, marks[p.user_id])]
        error_replies = sum(is_error_reply(m) for m in replies)
        unanswered = _unanswered(tg, sent)
        calls = tg.limits.log[logged:]
        refused = sum(not call.allowed for call in calls)
        writes, lost = _lost(sent, await _final_values(world.database, people))
        failed = code != 0 or "locked" in stderr
        samples = bot_log.samples + ([stderr.strip()[-500:]] if failed else [])
        return LockRun(
            lost=lost,
            error_replies=error_replies,
            log_errors=bot_log.errors,
            locked=bot_log.locked + stderr.count("database is locked"),
            unanswered=unanswered,
            refused=refused,
            writes=writes,
            seconds=seconds,
            import_s=import_s,
            import_failed=failed,
            samples=samples,
            refused_for=why_refused(calls),
        )


def _unanswered(tg: FakeTelegram, sent: list[Sent]) -> int:
    """Commands after which nothing arrived in the chat before the next command."""
    by_user: dict[int, list[Sent]] = {}
    for command in sent:
        by_user.setdefault(command.user_id, []).append(command)
    missing = 0
    for commands in by_user.values():
        for command, following in zip(commands, [*commands[1:], None], strict=True):
            upto = following.mark if following is not None else None
            got = [
                m
                for m in tg.messages_since(command.user_id, command.mark)
                if upto is None or m.message_id <= upto
            ]
            missing += not got
    return missing
