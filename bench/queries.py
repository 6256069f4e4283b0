"""Coordinator commands in a city of N pairs: the queries each one runs and how long it takes,
beside the same command in a city of three pairs.

A coordinator may run a thousand pairs. A command that queries once per pair (a permission
check in a loop, a lazy load) is fast with three and slow with a thousand; one that loads in
bulk costs the same number of queries at any size.

/rapport and /export answer at once and make their file in a worker process: their time is
the answer's, and a figure of its own (without a target) says when the file was sent; the
next step waits for it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time as clock
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import event, insert, select

from bot.app import build_application, start_beside, stop_beside
from bot.clock import FakeClock
from bot.concurrency import PerChatUpdateProcessor
from bot.context import AppContext
from bot.domain.programme import load_programmes
from bot.jobs.outbox import use_limits
from bot.jobs.startup import settle_memory
from bot.ratelimit import UNLIMITED
from bot.reports.background import Documents
from bot.texts import get_texts
from db.models import OUTBOX_FAILED, Exchange, Incident, OutboxMessage
from db.session import Database
from fake_telegram import BotMessage, FakeTelegram, FakeUser

from .report import Figure, Target
from .world import AMS, MONDAY, fresh_database, member_ids, seed_city, settings_for

# Wednesday of week 2, mid-morning: exchange day 1 of every pair (and of none in the
# three-pair city's past), so /vandaag and /aanwezig have every pair to show.
DAY = datetime.combine(MONDAY + timedelta(days=9), time(10, 0), tzinfo=AMS)
SMALL = 3
TIMEOUT = 60.0
QUERY_TARGET = 20.0
MS_TARGET = 200.0


def say(text: str) -> None:
    print(f"[bench {clock.strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Measured:
    queries: int
    ms: float
    # For a document (/rapport, /export): from the update until the file has been sent.
    document_ms: float | None = None


@dataclass
class Driver:
    """The coordinator's chat with the running bot, and a count of the bot's queries."""

    tg: FakeTelegram
    processor: PerChatUpdateProcessor
    user: FakeUser
    documents: Documents
    statements: list[str] = field(default_factory=list)
    last: list[BotMessage] = field(default_factory=list)

    def count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    async def send(self, text: str) -> Measured:
        mark = self.tg.last_message_id(self.user.id)
        self.statements.clear()
        began = clock.perf_counter()
        update_id = self.tg.push_text(self.user, text)
        await self.processor.wait_processed(update_id)
        ms = (clock.perf_counter() - began) * 1000
        queries = len(self.statements)
        self.last = self.tg.messages_since(self.user.id, mark)
        return Measured(queries, ms)

    async def ask_for_document(self, text: str) -> Measured:
        """Like `send`, for a command answered at once whose file follows: also how long
        until the file has been sent (the next step waits for it)."""
        began = clock.perf_counter()
        measured = await self.send(text)
        await self.documents.settled()
        measured.document_ms = (clock.perf_counter() - began) * 1000
        return measured

    async def press(self, label: str) -> Measured | None:
        """Press the button whose text starts with `label` under the latest answer; None
        when it has none (no next page in a small city)."""
        found = [
            (message, b.callback_data)
            for message in reversed(self.last)
            for row in message.buttons
            for b in row
            if b.text.startswith(label) and b.callback_data is not None
        ]
        if not found:
            return None
        message, data = found[0]
        assert data is not None
        mark = self.tg.last_message_id(self.user.id)
        self.statements.clear()
        began = clock.perf_counter()
        update_id = self.tg.push_callback(self.user, message.message_id, data)
        await self.processor.wait_processed(update_id)
        ms = (clock.perf_counter() - began) * 1000
        queries = len(self.statements)
        # A button either answers with new messages or edits its own.
        self.last = self.tg.messages_since(self.user.id, mark) or [
            m
            for m in self.tg.messages_since(self.user.id, message.message_id - 1)
            if m.message_id == message.message_id
        ]
        return Measured(queries, ms)


Step = Callable[[Driver], Awaitable[Measured | None]]


def typed(text: str) -> Step:
    async def step(driver: Driver) -> Measured:
        return await driver.send(text)

    return step


def document(text: str) -> Step:
    async def step(driver: Driver) -> Measured:
        return await driver.ask_for_document(text)

    return step


def pressed(label: str) -> Step:
    async def step(driver: Driver) -> Measured | None:
        return await driver.press(label)

    return step


# (key, what the table calls it, what the coordinator does). Each step follows the one before
# it, as a coordinator would go: a button is pressed on the answer just given.
STEPS: list[tuple[str, str, Step]] = [
    ("start", "/start", typed("/start")),
    ("vandaag", "/vandaag", typed("/vandaag")),
    ("vandaag_more", "/vandaag, next page", pressed("Meer")),
    ("vandaag_pair", "/vandaag, one pair's day", pressed("#")),
    ("overzicht", "/overzicht", typed("/overzicht")),
    ("overzicht_more", "/overzicht, next page", pressed("Meer")),
    ("overzicht_pair", "/overzicht, one pair", pressed("#")),
    ("aanwezig", "/aanwezig", typed("/aanwezig")),
    ("aanwezig_more", "/aanwezig, next page", pressed("Meer")),
    ("aanwezig_pair", "/aanwezig, choose a pair", pressed("#")),
    ("incidenten", "/incidenten", typed("/incidenten")),
    ("bericht", "/bericht", typed("/bericht")),
    ("bericht_text", "/bericht, the text", typed("Morgen geen uitwisseling.")),
    ("bericht_pairs", "/bericht, one pair: the list", pressed("Eén koppel")),
    ("bericht_back", "/bericht, back to the audience", pressed("↩️ Terug")),
    ("bericht_everyone", "/bericht, everyone", pressed("Iedereen")),
    ("bericht_read", "/bericht, without a read button", pressed("Zonder knop")),
    ("bericht_preview", "/bericht, send now: the preview", pressed("Nu versturen")),
    ("bericht_send", "/bericht, send", pressed("Versturen")),
    ("berichten", "/berichten", typed("/berichten")),
    ("beheer", "/beheer", typed("/beheer")),
    ("beheer_more", "/beheer, next page", pressed("Meer")),
    ("beheer_pair", "/beheer, one pair", pressed("#")),
    ("programma_pair", "/programma, one pair", pressed("#")),
    ("rapport", "/rapport", document("/rapport")),
    ("export", "/export", document("/export")),
    ("instellingen", "/instellingen", typed("/instellingen")),
    ("aanstellen", "/aanstellen", typed(f"/aanstellen {member_ids(0)[0]}")),
    ("intrekken", "/intrekken", typed(f"/intrekken {member_ids(0)[0]}")),
]


# A whole city's file takes half a minute to make at 1000 pairs: asked for once per run (its
# answer is timed like every step's; the bench stays within its ten minutes).
ONCE = frozenset({"rapport", "export"})


async def _furnish(url: str, now: datetime) -> None:
    """What a busy day adds to the seeded city: an open incident in every pair, and a
    message to each pair's first teacher that could not be delivered."""
    database = Database(url)
    try:
        async with database.write() as session:
            ids = list(await session.scalars(select(Exchange.id).order_by(Exchange.id)))
            if not ids:
                return
            await session.execute(
                insert(Incident),
                [
                    {
                        "exchange_id": exchange_id,
                        "reported_by": member_ids(n)[2],
                        "category": "conflict",
                        "severity": "urgent",
                        "status": "open",
                        "description": "Ruzie bij de bus",
                        "created_at": now - timedelta(hours=1),
                    }
                    for n, exchange_id in enumerate(ids)
                ],
            )
            earlier = now - timedelta(hours=3)
            await session.execute(
                insert(OutboxMessage),
                [
                    {
                        "user_id": member_ids(n)[0],
                        "exchange_id": exchange_id,
                        "kind": "checklist_nag",
                        "dedupe_key": f"bench:{exchange_id}",
                        "payload": {},
                        "status": OUTBOX_FAILED,
                        "due_at": earlier,
                        "not_after": earlier + timedelta(days=2),
                        "next_attempt_at": earlier,
                        "attempts": 1,
                        "last_error": "Forbidden: bot was blocked by the user",
                        "created_at": earlier,
                        "updated_at": earlier,
                    }
                    for n, exchange_id in enumerate(ids)
                ],
            )
    finally:
        await database.dispose()


async def city_run(database_url: str | None, pairs: int, repeat: int) -> dict[str, list[Measured]]:
    """Every step `repeat` times in a city of `pairs` pairs."""
    now = DAY.astimezone(UTC)
    async with fresh_database(database_url) as url, FakeTelegram() as tg:
        began = clock.monotonic()
        city = await seed_city(url, pairs, now=now - timedelta(days=10))
        await _furnish(url, now)
        settings = settings_for(url, tg.url)
        database = Database(url)
        context = AppContext(
            settings=settings,
            db=database,
            clock=FakeClock(now),
            programmes=load_programmes(),
            texts=get_texts(),
        )
        # What is measured is the bot's own work, not Telegram's one message a second per chat
        # that paces a coordinator's answers of several messages (the figures of pushes and
        # replies measure that).
        use_limits(context, UNLIMITED)
        app = build_application(context, settings.require_token())
        # Start-up plans every pair's messages, as the bot does; the jobs stay paused so that
        # nothing but the commands runs queries.
        await start_beside(app, jobs=False)
        # The bot's own process, once started, leaves what is alive then out of the garbage
        # collector's full passes (bot/jobs/startup.settle_memory). This process holds the
        # seeded city and the fake server besides: a full pass over them stopped a step now
        # and then for some 90 ms that the bot would not spend.
        settle_memory()
        say(f"  {pairs} pairs seeded and planned in {clock.monotonic() - began:.0f} s")
        processor = app.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        driver = Driver(tg, processor, tg.user(city.coordinator, "Carla"), context.documents)
        event.listen(database.engine.sync_engine, "before_cursor_execute", driver.count)
        results: dict[str, list[Measured]] = {key: [] for key, _, _ in STEPS}
        try:
            # The first update of a user writes their name; it is no coordinator command.
            await driver.send("/help")
            for index in range(max(1, repeat)):
                for key, _, step in STEPS:
                    if index and key in ONCE:
                        continue
                    measured = await step(driver)
                    if measured is not None:
                        results[key].append(measured)
        finally:
            gc.unfreeze()
            await stop_beside(app)
            await database.dispose()
    return results


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


async def figures(args: argparse.Namespace) -> list[Figure]:
    say(f"Coordinator commands with {SMALL} pairs (baseline)")
    small = await city_run(args.database_url, SMALL, args.repeat)
    say(f"Coordinator commands with {args.pairs} pairs")
    large = await city_run(args.database_url, args.pairs, args.repeat)
    out: list[Figure] = []
    for key, title, _ in STEPS:
        if not large[key]:
            continue
        queries = [float(m.queries) for m in large[key]]
        ms = [m.ms for m in large[key]]
        base_queries = _median([float(m.queries) for m in small[key]])
        base_ms = _median([m.ms for m in small[key]])
        say(
            f"  {title}: {statistics.median(queries):.0f} queries ({base_queries} with "
            f"{SMALL}), {statistics.median(ms):.0f} ms ({base_ms} with {SMALL})"
        )
        out.append(
            Figure(
                f"coordinator_{key}_queries",
                f"{title}: queries ({args.pairs} pairs)",
                "",
                queries,
                base_queries,
                f"{SMALL} pairs",
                Target("<=", QUERY_TARGET),
                notes="statements the bot runs for the update, counted at the engine",
                extra={"pairs": args.pairs},
            )
        )
        out.append(
            Figure(
                f"coordinator_{key}_ms",
                f"{title}: time ({args.pairs} pairs)",
                "ms",
                ms,
                base_ms,
                f"{SMALL} pairs",
                Target("<=", MS_TARGET),
                notes="from the update reaching the fake server until the bot has handled it",
                extra={"pairs": args.pairs},
            )
        )
        made = [m.document_ms for m in large[key] if m.document_ms is not None]
        if made:
            base_made = _median([m.document_ms for m in small[key] if m.document_ms is not None])
            say(f"  {title}: the file sent after {statistics.median(made):.0f} ms")
            out.append(
                Figure(
                    f"coordinator_{key}_document_ms",
                    f"{title}: the file sent ({args.pairs} pairs)",
                    "ms",
                    made,
                    base_made,
                    f"{SMALL} pairs",
                    None,
                    notes="made in a worker process while the bot answers others",
                    extra={"pairs": args.pairs},
                )
            )
    return out
