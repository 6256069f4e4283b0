"""No "database is locked": many writers at once, and a holiday import beside people working.

Each test checks what people see (no apology for an error, an answer to every command) and
what the database holds afterwards (every count, every change). Speed is not asserted here.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.programme import load_programmes
from bot.services.importer import import_rows
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, ExchangeSide, Headcount, Membership, User
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said
from tests.flows import joined_exchange
from tests.harness import Harness

ROOT = Path(__file__).resolve().parent.parent
# Exchange day 1 of an exchange starting 1 February 2027, just after its start.
DAY_1 = datetime(2027, 2, 10, 9, 5, tzinfo=AMS)
COUNTERS = 200
FIRST_COUNTER = 700_000
PAIRS = 30
FIRST_MEMBER = 100_000
# Long enough for hundreds of updates queued behind each other on a slow machine.
WAIT = 120.0


def _user(user_id: int, name: str, now: datetime) -> User:
    return User(
        id=user_id,
        display_name=name,
        language="nl",
        is_coordinator=False,
        active=True,
        created_at=now,
        last_seen_at=now,
    )


async def _handled(h: Harness, update_id: int) -> None:
    async with asyncio.timeout(WAIT):
        await h.processor.wait_processed(update_id)


async def _say(h: Harness, user: FakeUser, text: str) -> list[BotMessage]:
    mark = h.tg.last_message_id(user.id)
    await _handled(h, h.tg.push_text(user, text))
    return h.tg.messages_since(user.id, mark)


async def _count(h: Harness, user: FakeUser) -> list[BotMessage]:
    """`/aanwezig 24 22`, and the tap on the first moment offered when the bot asks which."""
    replies = await _say(h, user, "/aanwezig 24 22")
    if replies and replies[-1].buttons:
        question = replies[-1]
        data = question.buttons[0][0].callback_data
        assert data is not None
        mark = h.tg.last_message_id(user.id)
        await _handled(h, h.tg.push_callback(user, question.message_id, data))
        replies += h.tg.messages_since(user.id, mark)
    return replies


def _errors(messages: list[BotMessage]) -> list[str]:
    sorry = (said("errors.sorry"), said("errors.sorry", "en"))
    return [m.text or "" for m in messages if any(s in (m.text or "") for s in sorry)]


async def test_two_hundred_begeleiders_of_one_pair_count_at_once(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    assert h.db is not None
    now = h.clock.now()
    async with h.db.write() as session:
        for n in range(COUNTERS - 1):
            session.add(_user(FIRST_COUNTER + n, f"Begeleider {n}", now))
            session.add(
                Membership(
                    user_id=FIRST_COUNTER + n,
                    exchange_id=p.exchange_id,
                    role=ROLE_BEGELEIDER,
                    side=None,
                    joined_at=now,
                )
            )
    h.clock.set(DAY_1)
    counters = [p.begeleider, *(h.user(FIRST_COUNTER + n, "B") for n in range(COUNTERS - 1))]

    outcomes = await asyncio.gather(*(_count(h, user) for user in counters))

    confirmed = said("headcounts.count_line", school="De Avonturijn", count=24)
    for user, replies in zip(counters, outcomes, strict=True):
        assert not _errors(replies), (user.id, [m.text for m in replies])
        assert replies and confirmed in (replies[-1].text or ""), [m.text for m in replies]
    async with h.db.read() as session:
        stored = (
            await session.execute(
                select(Headcount.side, Headcount.count, func.count()).group_by(
                    Headcount.side, Headcount.count
                )
            )
        ).all()
        counted_by = await session.scalar(select(func.count(func.distinct(Headcount.recorded_by))))
    assert sorted(tuple(row) for row in stored) == [("A", 24, COUNTERS), ("B", 22, COUNTERS)]
    assert counted_by == COUNTERS
    # Nobody else was told something went wrong either (the coordinator's error alerts).
    assert not _errors(h.tg.messages(p.coordinator.id))


async def _seed_pairs(h: Harness, pairs: int) -> list[tuple[int, int, int, int]]:
    """`pairs` exchanges in region noord with two teachers and a begeleider each, straight
    in the database; returns (exchange id, teacher A, teacher B, begeleider) per pair."""
    assert h.db is not None
    now = h.clock.now()
    rows = [
        (
            n + 2,
            ExchangeInput(
                programme_key="standaard",
                city="Amsterdam",
                start_date=date(2027, 2, 1),
                sides=[
                    SideInput(f"School {n} Noord", None, "groep 8", 24),
                    SideInput(f"School {n} Zuid", None, "groep 7/8", 22),
                ],
                region="noord",
            ),
        )
        for n in range(pairs)
    ]
    seeded = []
    async with h.db.write() as session:
        ids = await import_rows(session, rows, load_programmes(), now=now)
        for n, exchange_id in enumerate(ids):
            people = [FIRST_MEMBER + 10 * n + k for k in range(3)]
            roles = [(ROLE_TEACHER, "A"), (ROLE_TEACHER, "B"), (ROLE_BEGELEIDER, None)]
            for user_id, (role, side) in zip(people, roles, strict=True):
                session.add(_user(user_id, f"Lid {user_id}", now))
                session.add(
                    Membership(
                        user_id=user_id,
                        exchange_id=exchange_id,
                        role=role,
                        side=side,
                        joined_at=now,
                    )
                )
            seeded.append((exchange_id, *people))
    return seeded


async def _holiday_import(database_url: str, folder: Path) -> tuple[int, str, str]:
    """`python -m bot holidays import` on the test database, as a process of its own."""
    csv = folder / "vakanties.csv"
    # Inside the pairs' last weeks: every plan changes.
    csv.write_text(
        "regio;naam;begin;eind\nnoord;Voorjaarsvakantie;20-02-2027;28-02-2027\n", encoding="utf-8"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_TOKEN", "DATABASE_URL", "COORDINATOR_IDS", "DEFAULT_LANGUAGE"}
    }
    env["PYTHONPATH"] = str(ROOT)
    env["DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "holidays",
        "import",
        str(csv),
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(WAIT):
        stdout, stderr = await process.communicate()
    return int(process.returncode or 0), stdout.decode(), stderr.decode()


async def test_holiday_import_while_people_work(harness: Harness, tmp_path: Path) -> None:
    h = harness
    pairs = await _seed_pairs(h, PAIRS)
    # A restart plans the seeded pairs, as the bot does at every start.
    await h.restart()
    h.clock.set(datetime(2027, 1, 12, 10, 0, tzinfo=AMS))
    workers = pairs[:4]
    teachers = [
        (h.user(t, "Leerkracht"), exchange_id, side)
        for exchange_id, a, b, _ in workers
        for t, side in ((a, "A"), (b, "B"))
    ]
    begeleiders = [h.user(g, "Begeleider") for *_, g in workers]
    importing = asyncio.create_task(_holiday_import(h.database_url, tmp_path))
    sizes: dict[int, int] = {}
    languages: dict[int, str] = {}
    said_back: list[BotMessage] = []

    async def teacher(user: FakeUser, turn: int) -> None:
        size = 20 + turn % 8
        for text in ("/vandaag", f"/klas {size}", "/help"):
            replies = await _say(h, user, text)
            assert replies, text
            said_back.extend(replies)
        sizes[user.id] = size

    async def begeleider(user: FakeUser, turn: int) -> None:
        language = ("en", "nl")[turn % 2]
        for text in ("/vandaag", "/checklist", f"/taal {language}"):
            replies = await _say(h, user, text)
            assert replies, text
            said_back.extend(replies)
        languages[user.id] = language

    turn = 0
    # At least two rounds each, and on until the import is done.
    while turn < 2 or not importing.done():
        await asyncio.gather(
            *(teacher(user, turn) for user, *_ in teachers),
            *(begeleider(user, turn) for user in begeleiders),
        )
        turn += 1
    code, stdout, stderr = await importing

    assert code == 0, stderr
    assert "locked" not in stderr
    assert said("holidays.exchanges_many", count=PAIRS) in stdout, stdout
    assert not _errors(said_back)
    assert h.db is not None
    async with h.db.read() as session:
        for user, exchange_id, side in teachers:
            stored = await session.scalar(
                select(ExchangeSide.class_size).where(
                    ExchangeSide.exchange_id == exchange_id, ExchangeSide.side == side
                )
            )
            assert stored == sizes[user.id]
        for user in begeleiders:
            assert (
                await session.scalar(select(User.language).where(User.id == user.id))
                == (languages[user.id])
            )
