"""A coordinator's commands cost the same number of queries with 3 pairs as with 12.

A coordinator may run a thousand pairs; a query per pair in a command (a permission check in
a loop, a lazy load) makes it slow long before anyone notices in a test with two. The count
is deterministic, so these tests compare it between two sizes of the same world.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.programme import load_programmes
from bot.services import exchanges
from db.models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    CheckIn,
    Headcount,
    Incident,
    Membership,
    OutboxMessage,
    User,
)
from db.session import Database
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, COORDINATOR_ID, truncate_all
from tests.harness import Harness

PROGRAMMES = load_programmes()
STANDARD = PROGRAMMES["standaard"]
START_DATE = date(2027, 2, 1)
# Wednesday 10 February 2027, 10:00: exchange day 1 of every pair.
DAY_1 = datetime(2027, 2, 10, 10, 0, tzinfo=AMS)
CREATED = datetime(2027, 1, 12, 14, 0, tzinfo=AMS).astimezone(UTC)
FIRST_MEMBER = 10_000  # teacher A of the first pair
# Issue 12: a coordinator command runs at most this many queries, however many pairs.
MAX_QUERIES = 20


class Queries:
    """Counts the statements the bot's engine runs (each `before_cursor_execute`)."""

    def __init__(self, database: Database) -> None:
        self.statements: list[str] = []
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The statements run inside the block."""
        self.statements = []
        seen = self.statements
        yield seen


@dataclass(frozen=True)
class City:
    exchange_ids: list[int]
    teachers: list[int]


def _user(user_id: int, name: str, *, coordinator: bool = False) -> User:
    return User(
        id=user_id,
        display_name=name,
        language="nl",
        is_coordinator=coordinator,
        coordinator_source="setting" if coordinator else None,
        active=True,
        created_at=CREATED,
        last_seen_at=CREATED,
        bad_invite_count=0,
    )


async def build_city(h: Harness, pairs: int) -> City:
    """`pairs` exchanges of the coordinator, each with two teachers, two begeleiders, an open
    incident, today's check-in and count, and a message that could not be delivered."""
    assert h.db is not None
    day = DAY_1.date()
    ids: list[int] = []
    teachers: list[int] = []
    async with h.db.write() as session:
        session.add(_user(COORDINATOR_ID, "Carla", coordinator=True))
        await session.flush()
        for n in range(pairs):
            data = ExchangeInput(
                programme_key=STANDARD.key,
                city="Amsterdam",
                start_date=START_DATE,
                sides=[
                    SideInput(f"School {n} Noord", f"Straat {n}", "groep 8", 24),
                    SideInput(f"School {n} Zuid", None, "groep 7/8", 22),
                ],
                region="noord",
            )
            # Every other pair came from an import: nobody made it, so whoever coordinates runs
            # it. Counted from the newest, so that the first button is alike at every size.
            maker = COORDINATOR_ID if (pairs - n) % 2 == 1 else None
            exchange = await exchanges.create_exchange(
                session, data, STANDARD, created_by=maker, now=CREATED
            )
            people = [FIRST_MEMBER + 10 * n + k for k in range(4)]
            roles = [
                (ROLE_TEACHER, "A"),
                (ROLE_TEACHER, "B"),
                (ROLE_BEGELEIDER, None),
                (ROLE_BEGELEIDER, None),
            ]
            for user_id in people:
                session.add(_user(user_id, f"Lid {user_id}"))
            await session.flush()
            for user_id, (role, side) in zip(people, roles, strict=True):
                session.add(
                    Membership(
                        user_id=user_id,
                        exchange_id=exchange.id,
                        role=role,
                        side=side,
                        joined_at=CREATED,
                    )
                )
            session.add(
                Incident(
                    exchange_id=exchange.id,
                    reported_by=people[2],
                    category="conflict",
                    severity="urgent",
                    status="open",
                    description="Ruzie bij de bus",
                    created_at=DAY_1.astimezone(UTC) - timedelta(hours=1),
                )
            )
            session.add(
                CheckIn(
                    exchange_id=exchange.id,
                    phase_key="exchange_day_1",
                    day=day,
                    user_id=people[2],
                    checked_in_at=DAY_1.astimezone(UTC) - timedelta(hours=2),
                )
            )
            session.add(
                Headcount(
                    exchange_id=exchange.id,
                    day=day,
                    side="A",
                    moment="arrival",
                    count=24,
                    recorded_by=people[2],
                    recorded_at=DAY_1.astimezone(UTC) - timedelta(hours=1),
                )
            )
            for status, user_id in ((OUTBOX_FAILED, people[0]), (OUTBOX_PENDING, people[1])):
                moment = DAY_1.astimezone(UTC) - timedelta(hours=3)
                session.add(
                    OutboxMessage(
                        user_id=user_id,
                        exchange_id=exchange.id,
                        kind="checklist_nag",
                        dedupe_key=f"test:{exchange.id}:{user_id}",
                        payload={},
                        status=status,
                        due_at=moment,
                        not_after=moment + timedelta(days=2),
                        next_attempt_at=moment,
                        attempts=1,
                        last_error="Forbidden: bot was blocked by the user"
                        if status == OUTBOX_FAILED
                        else None,
                        created_at=moment,
                        updated_at=moment,
                    )
                )
            ids.append(exchange.id)
            teachers.append(people[0])
    h.clock.set(DAY_1.astimezone(UTC))
    return City(ids, teachers)


async def press(
    h: Harness, user: FakeUser, messages: list[BotMessage], label: str
) -> list[BotMessage]:
    """Press the button starting with `label` under the latest of `messages` that has one;
    the new messages, or the pressed one as it was edited."""
    for message in reversed(messages):
        for row in message.buttons:
            for button in row:
                if button.text.startswith(label) and button.callback_data is not None:
                    data = button.callback_data
                    answers = await h.press_data(user, message.message_id, data)
                    return answers or [h.tg.messages_since(user.id, message.message_id - 1)[0]]
    raise AssertionError(f"no button {label!r} in {[m.button_texts for m in messages]}")


# What a coordinator does, one step after the other; a step with a label presses that button
# under the answer before it. Each step is (name, text typed or None, button label or None).
FLOWS: list[tuple[str, str | None, str | None]] = [
    ("/start", "/start", None),
    ("/vandaag", "/vandaag", None),
    ("/vandaag: a pair", None, "#"),
    ("/overzicht", "/overzicht", None),
    ("/overzicht alle", "/overzicht alle", None),
    ("/overzicht: a pair", None, "#"),
    ("/aanwezig", "/aanwezig", None),
    ("/aanwezig: a pair", None, "#"),
    ("/aanwezig: the moment", None, "aankomst"),
    ("/incidenten", "/incidenten", None),
    ("/incidenten: close one", None, "Afsluiten"),
    ("/incidenten: without a note", None, "Zonder toelichting"),
    ("/bericht", "/bericht", None),
    ("/bericht: the text", "Morgen geen uitwisseling.", None),
    ("/bericht: one pair", None, "Eén koppel"),
    ("/bericht: back", None, "↩️ Terug"),
    ("/bericht: everyone", None, "Iedereen"),
    ("/bericht: no read button", None, "Zonder knop"),
    ("/bericht: now", None, "Nu versturen"),
    ("/bericht: send", None, "Versturen"),
    ("/berichten", "/berichten", None),
    ("/berichten: retry", None, "🔁"),
    ("/beheer", "/beheer", None),
    ("/beheer: a pair", None, "#"),
    ("/beheer: begeleiders", None, "🧑"),
    ("/programma", "/programma", None),
    ("/programma: a pair", None, "#"),
    ("/checklist", "/checklist", None),
    ("/checklist: a pair", None, "#"),
    ("/uitnodigen", "/uitnodigen", None),
    ("/agenda", "/agenda", None),
    ("/wijzig", "/wijzig", None),
    ("/klas", "/klas", None),
    ("/school", "/school", None),
    ("/rapport", "/rapport", None),
    ("/export", "/export", None),
    ("/instellingen", "/instellingen", None),
    ("/instellingen: gather", None, "📥"),
    ("/aanstellen", f"/aanstellen {FIRST_MEMBER}", None),
    ("/intrekken", f"/intrekken {FIRST_MEMBER}", None),
]
# With more than a page of pairs, the choosers page on.
PAGING: list[tuple[str, str | None, str | None]] = [
    ("/vandaag", "/vandaag", None),
    ("/vandaag: more", None, "Meer"),
    ("/overzicht", "/overzicht", None),
    ("/overzicht: more", None, "Meer"),
    ("/aanwezig", "/aanwezig", None),
    ("/aanwezig: more", None, "Meer"),
    ("/beheer", "/beheer", None),
    ("/beheer: more", None, "Meer"),
    ("/agenda", "/agenda", None),
    ("/agenda: more", None, "Meer"),
    ("/uitnodigen", "/uitnodigen", None),
    ("/uitnodigen: more", None, "Meer"),
    ("/bericht", "/bericht", None),
    ("/bericht: the text", "Morgen geen uitwisseling.", None),
    ("/bericht: one pair", None, "Eén koppel"),
    ("/bericht: more", None, "Meer"),
]


async def play(
    h: Harness, pairs: int, flow: list[tuple[str, str | None, str | None]]
) -> dict[str, tuple[int, list[BotMessage]]]:
    """Each step of `flow` in a city of `pairs` pairs: its queries and what the bot said."""
    await build_city(h, pairs)
    assert h.db is not None
    queries = Queries(h.db)
    coordinator = h.user(COORDINATOR_ID, "Carla")
    # The first update writes the coordinator's name: that is not what is counted.
    await h.send(coordinator, "/help")
    out: dict[str, tuple[int, list[BotMessage]]] = {}
    last: list[BotMessage] = []
    for name, text, label in flow:
        with queries.counting() as seen:
            if text is not None:
                last = await h.send(coordinator, text)
            else:
                assert label is not None
                last = await press(h, coordinator, last, label)
            # /rapport and /export answer at once and send the file when it is made: it
            # belongs to their step, not to a later one.
            assert h.context is not None
            await h.context.documents.settled()
        out[name] = (len(seen), last)
    return out


def texts(messages: list[BotMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def test_each_step_costs_the_same_with_more_pairs(harness: Harness) -> None:
    few = await play(harness, 3, FLOWS)
    await truncate_all(harness.db)  # type: ignore[arg-type]
    many = await play(harness, 12, FLOWS)
    counts = {name: (few[name][0], many[name][0]) for name, _, _ in FLOWS}
    grew = {name: pair for name, pair in counts.items() if pair[0] != pair[1]}
    assert not grew, grew
    assert max(n for n, _ in counts.values()) <= MAX_QUERIES, counts
    # The answers are the real ones, not refusals.
    assert "Overzicht: 12 koppels" in texts(many["/overzicht"][1])
    assert "Voor welke uitwisseling tel je?" in texts(many["/aanwezig"][1])
    assert "Open meldingen (12)" in texts(many["/incidenten"][1])
    assert "is afgesloten" in texts(many["/incidenten: without a note"][1])
    assert "48" in texts(many["/bericht: now"][1])  # 4 people in each of 12 pairs
    assert "Gepland: " in texts(many["/berichten"][1])
    assert "Je hebt er 12" in texts(many["/beheer"][1])
    # A coordinator's /vandaag: today's pairs, ten to a page; each pair's day a tap away.
    today = texts(many["/vandaag"][1])
    assert "12 koppels hebben vandaag een uitwisselingsdag" in today
    assert "School 0 Noord – School 0 Zuid" in today and "School 11 Noord" not in today
    assert "School 0 Noord – School 0 Zuid" in texts(many["/vandaag: a pair"][1])
    assert "Speurtocht" in texts(many["/vandaag: a pair"][1])


async def test_pages_cost_the_same_with_more_pairs(harness: Harness) -> None:
    few = await play(harness, 12, PAGING)
    await truncate_all(harness.db)  # type: ignore[arg-type]
    many = await play(harness, 25, PAGING)
    counts = {name: (few[name][0], many[name][0]) for name, _, _ in PAGING}
    grew = {name: pair for name, pair in counts.items() if pair[0] != pair[1]}
    assert not grew, grew
    assert max(n for n, _ in counts.values()) <= MAX_QUERIES, counts
    assert "(21–25 van 25)" in " ".join(many["/beheer: more"][1][0].button_texts)
    assert "Koppel 11–20 van 25" in texts(many["/vandaag: more"][1])
