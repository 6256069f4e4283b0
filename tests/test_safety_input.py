"""Odd input gets an answer, never "Sorry": numbers, control characters, double taps,
names as people compare them, long lists, and a database that is away at start-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import delete, func, select, text

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.programme import load_programmes
from bot.services.exchanges import create_exchange
from db import migrate
from db.models import (
    OUTBOX_PENDING,
    CheckIn,
    Exchange,
    ExchangeSide,
    Incident,
    OutboxMessage,
    School,
)
from db.session import Database
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, COORDINATOR_ID, said
from tests.flows import create_exchange as create_via_chat
from tests.flows import joined_exchange, only
from tests.harness import Harness

DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)  # exchange day 1 of an exchange from 1 February
SORRY = said("errors.sorry")
ERROR_ALERT = "Fout in de bot"
HUGE = "9999999999"  # ten digits: beyond PostgreSQL's INTEGER
# What Telegram answers to an edit with nothing left to do; the bot treats both as done.
TOLERATED = ("message is not modified", "message to edit not found")


def assert_calm(h: Harness, *users: FakeUser, tolerated: tuple[str, ...] = ()) -> None:
    """Nobody got "Sorry", no coordinator got an error alert, no Bot API call failed."""
    chats = {COORDINATOR_ID, *(u.id for u in users)}
    for chat in chats:
        for message in h.tg.messages(chat):
            assert SORRY not in (message.text or ""), message.text
            assert ERROR_ALERT not in (message.text or ""), message.text
    failed = [
        (c.method, c.error)
        for c in h.tg.calls
        if not c.ok and not any(t in (c.error or "") for t in tolerated)
    ]
    assert failed == []


def current(h: Harness, user: FakeUser, message: BotMessage) -> BotMessage:
    """The message as the user sees it now (with its edits)."""
    return next(m for m in h.tg.messages(user.id) if m.message_id == message.message_id)


async def press_twice(h: Harness, user: FakeUser, message: BotMessage, label: str) -> None:
    """Two taps on the same button, both sent before the bot handled the first."""
    data = next(
        b["callback_data"]
        for row in (message.reply_markup or {}).get("inline_keyboard", [])
        for b in row
        if b.get("text") == label
    )
    first = h.tg.push_callback(user, message.message_id, data)
    second = h.tg.push_callback(user, message.message_id, data)
    await h.processed(first)
    await h.processed(second)


# -- 14. one way to read a number ----------------------------------------------------------


async def test_odd_numbers_in_commands_get_an_answer(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    c = p.coordinator
    answers = {
        "/klas 1² A 25": "/klas",
        f"/klas #{HUGE} A 25": "/klas",
        f"/klas {p.exchange_id} A ²5": "als getal",
        "/archiveren ²": "/archiveren 12",
        f"/archiveren {HUGE}": "/archiveren 12",
        "/uitnodigen ³": "nummer",
        f"/uitnodigen {HUGE}": "nummer",
    }
    for command, expected in answers.items():
        reply = (await h.send(c, command))[0]
        assert expected in reply.text, (command, reply.text)
    assert "als getal" in (await h.send(p.teacher_a, "/klas ²"))[0].text
    # Nothing was changed by any of them.
    async with h.db.read() as session:  # type: ignore[union-attr]
        sizes = list(await session.scalars(select(ExchangeSide.class_size)))
    assert sorted(sizes) == [22, 24]

    await h.run_until(DAY_1)
    b = p.begeleider
    replies = await h.send(b, "/aanwezig ² 22")
    assert "getal" in replies[0].text and "/aanwezig 24 22" in replies[-1].text
    replies = await h.send(b, f"/aanwezig {HUGE} 22")
    assert "/aanwezig 24 22" in replies[-1].text
    # A team number typed with a superscript is asked again.
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Ruzie tussen leerlingen")
    await h.press(b, h.tg.last_message(b.id), "Hoog")  # type: ignore[arg-type]
    replies = await h.send(b, "³")
    assert "team" in replies[0].text.lower() and "Welk team?" in replies[-1].text
    assert "Wat is er gebeurd?" in only(await h.send(b, " 3 ")).text
    assert_calm(h, b, p.teacher_a)


async def test_forged_buttons_with_odd_numbers_are_refused_quietly(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    c, b = p.coordinator, p.begeleider
    anchor = only(await h.send(c, "/help"))
    forged = [
        "prog:²",
        f"prog:{HUGE}",
        "cl:²",
        f"ag:{HUGE}",
        f"arch:{HUGE}",
        "arch:²",
        "inv:²",
        f"inv:{HUGE}",
        f"rv:{HUGE}:1",
        "rv:1:²",
        f"ck:{HUGE}:x",
        "ck:²:x",
        f"da:{HUGE}",
        "do:²",
        f"ia:{HUGE}",
        "ir:²",
        f"ic:{HUGE}",
        f"hd:miss:{HUGE}",
        "hd:ok:²",
        f"ci:{HUGE}",
        "ci:²",
        "nw:²:c:0",
        f"nw:{HUGE}:c:0",
        f"dt:{HUGE}:x:1",
        "dt:1:t:²³00",
        "dt:1:d:2027-0²-10",
        f"hc:1:x:{HUGE}",
        "prog:+²",
        f"prog:+{HUGE}",
    ]
    first = len(h.tg.calls)
    for data in forged:
        await h.press_data(c, anchor.message_id, data, force=True)
    for data in (f"hc:1:x:{HUGE}", "co:1:r:²", f"in:1:x:{HUGE}", "in:1:t:²"):
        await h.press_data(b, anchor.message_id, data, force=True)
    # Inside a /datum conversation, at the question the forged data claims to answer.
    phases = only(await h.send(c, "/datum"))
    days = only(await h.press(c, phases, phases.button_texts[0]))
    day_data = days.buttons[0][0].raw["callback_data"]
    version = day_data.split(":")[1]
    for data in (f"dt:{version}:d:2027-0²-10", f"dt:{version}:d:2027-02-30"):
        await h.press_data(c, days.message_id, data, force=True)
    phases = only(await h.send(c, "/datum"))
    days = only(await h.press(c, phases, phases.button_texts[0]))
    version = days.buttons[0][0].raw["callback_data"].split(":")[1]
    times = only(await h.press(c, days, days.button_texts[0]))
    assert "Hoe laat" in times.text or "tijd" in times.text.lower()
    await h.press_data(c, times.message_id, f"dt:{int(version) + 1}:t:²³00", force=True)
    # Every press was answered (a toast), none by an error.
    answered = [c for c in h.tg.calls[first:] if c.method == "answerCallbackQuery"]
    assert len(answered) >= len(forged) + 4
    assert_calm(h, b)


async def test_control_characters_are_removed_from_typed_text(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla", username="carla_wimw")
    exchange_id = await create_via_chat(h, coordinator, school_a="De\x00 Avon\x07turijn")
    async with h.db.read() as session:  # type: ignore[union-attr]
        names = set(await session.scalars(select(School.name)))
    assert "De Avonturijn" in names

    p = await joined_exchange(h)  # the same coordinator; the schools are reused
    assert p.exchange_id != exchange_id
    await h.run_until(DAY_1)
    b = p.begeleider
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Iets anders")
    await h.press(b, h.tg.last_message(b.id), "Laag")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Geen team / weet niet")  # type: ignore[arg-type]
    await h.send(b, "Fiets\x00 omgevallen\x1b bij de ingang\nniemand gewond")
    confirm = only(await h.press(b, h.tg.last_message(b.id), "Geen foto"))  # type: ignore[arg-type]
    await h.press(b, confirm, "Versturen")
    await h.dispatch()
    async with h.db.read() as session:  # type: ignore[union-attr]
        incident = await session.scalar(select(Incident))
    assert incident is not None
    assert incident.description == "Fiets omgevallen bij de ingang\nniemand gewond"
    alert = h.tg.last_message(p.coordinator.id)
    assert alert is not None and "Fiets omgevallen bij de ingang" in alert.text

    await h.send(b, "/checkin")
    rating = (await h.send(b, "/checkout"))[-1]  # after the location keyboard is taken away
    tension = only(await h.press(b, rating, "4"))
    remarks = only(await h.press(b, tension, "Nee"))
    assert "nog iets" in remarks.text
    assert "Dank je wel" in only(await h.send(b, "Goed\x00 gegaan\x7f")).text
    async with h.db.read() as session:  # type: ignore[union-attr]
        checkin = await session.scalar(select(CheckIn))
    assert checkin is not None and checkin.remarks == "Goed gegaan"
    assert_calm(h, b)


# -- 15. double taps ---------------------------------------------------------------------


async def test_double_taps_on_every_kind_of_button_are_harmless(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla", username="carla_wimw")
    # /nieuw: a double tap on the programme button.
    question = (await h.send(coordinator, "/nieuw"))[-1]
    await press_twice(h, coordinator, question, "Uitwisseling in 4 weken")
    await h.send(coordinator, "/annuleren")
    # Language: a double tap on a choice.
    choice = only(await h.send(coordinator, "/taal"))
    await press_twice(h, coordinator, choice, choice.button_texts[0])

    p = await joined_exchange(h)
    c, a, b = p.coordinator, p.teacher_a, p.begeleider
    # Invite links: a double tap on revoke.
    links = only(await h.send(c, f"/uitnodigen {p.exchange_id}"))
    await press_twice(h, c, links, "Deze links intrekken")
    assert "ingetrokken" in (current(h, c, links).text or "")

    # Checklist: two quick taps on one item (tick, untick), then a third.
    view = only(await h.send(a, "/checklist"))
    item = view.button_texts[0]
    await press_twice(h, a, view, item)
    # /datum: a double tap on a phase and on a day.
    phases = only(await h.send(a, "/datum"))
    await press_twice(h, a, phases, phases.button_texts[0])
    days = h.tg.last_message(a.id)
    assert days is not None and days.button_texts
    await press_twice(h, a, days, days.button_texts[0])
    await h.send(a, "/annuleren")

    # The exchange day: check-in choice, keypad digits and ✔, a drop answer.
    await h.run_until(DAY_1)
    moment = only(await h.send(b, "/aanwezig"))
    await press_twice(h, b, moment, "aankomst")
    keypad = h.tg.last_message(b.id)
    assert keypad is not None
    await press_twice(h, b, keypad, "2")
    keypad = h.tg.last_message(b.id)
    await press_twice(h, b, keypad, "⌫")  # type: ignore[arg-type]
    await press_twice(h, b, keypad, "⌫")  # type: ignore[arg-type]
    for digit in "24":
        await h.press(b, h.tg.last_message(b.id), digit)  # type: ignore[arg-type]
    await press_twice(h, b, h.tg.last_message(b.id), "✔")  # type: ignore[arg-type]

    # Archiving: a double tap on the confirmation.
    confirm = only(await h.send(c, f"/archiveren {p.exchange_id}"))
    await press_twice(h, c, confirm, "Ja, archiveren")
    # The second tap is told why nothing more happens, not that it is not allowed.
    assert h.tg.callback_answers[-1]["text"] == "Deze uitwisseling is al gearchiveerd."
    # A press answered too late (the bot was busy or restarting) is no failure either.
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    h.tg.fail_next("answerCallbackQuery", status=400, description=too_old)
    chooser = only(await h.send(a, "/taal"))
    await h.press(a, chooser, chooser.button_texts[0])
    assert_calm(h, a, b, tolerated=(*TOLERATED, "query is too old"))
    archived = [m.text for m in h.tg.messages(c.id) if "gearchiveerd" in (m.text or "")]
    assert len(archived) == 1


# -- 16. names compare as people expect ----------------------------------------------------


async def test_a_school_typed_with_other_case_or_accents_is_the_same_school(
    harness: Harness,
) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla", username="carla_wimw")
    first = await create_via_chat(
        h, coordinator, city="Ede", school_a="École Européenne", school_b="De Odyssee"
    )
    second = await create_via_chat(
        h, coordinator, city="ede", school_a="école  européenne", school_b="Het Kompas"
    )
    third = await create_via_chat(
        h, coordinator, city="EDE", school_a="ÉCOLE EUROPÉENNE", school_b="De Odyssee"
    )
    assert len({first, second, third}) == 3
    async with h.db.read() as session:  # type: ignore[union-attr]
        schools = list(await session.scalars(select(School).order_by(School.id)))
        sides = list(await session.scalars(select(ExchangeSide).where(ExchangeSide.side == "A")))
        cities = set(await session.scalars(select(Exchange.city)))
    assert [s.name for s in schools] == ["École Européenne", "De Odyssee", "Het Kompas"]
    assert {s.city for s in schools} == {"Ede"} and cities == {"Ede"}
    assert len({side.school_id for side in sides}) == 1
    assert_calm(h)


async def test_the_name_key_migration_merges_schools_that_differed_only_in_case(
    database: Database,
) -> None:
    engine = database.engine
    await migrate.downgrade(engine, "0003")
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO schools (id, name, city, address) VALUES "
                    "(1, 'École Européenne', 'Ede', NULL), "
                    "(2, 'école européenne', 'ede', 'Stationsweg 1'), "
                    "(3, 'De Odyssee', 'Ede', NULL)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO exchanges (id, programme_key, city, start_date, status, "
                    "created_at) VALUES (1, 'vier_weken', 'ede', '2027-02-01', 'active', "
                    "'2027-01-11 08:00:00+00:00')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO exchange_sides (exchange_id, side, school_id, class_name, "
                    "class_size) VALUES (1, 'A', 2, 'groep 8', 24), (1, 'B', 3, 'groep 8', 22)"
                )
            )
    finally:
        await migrate.upgrade(engine)
    async with database.read() as session:
        schools = list(await session.scalars(select(School).order_by(School.id)))
        side_a = await session.scalar(select(ExchangeSide).where(ExchangeSide.side == "A"))
        exchange = await session.get(Exchange, 1)
    assert [(s.id, s.name_key, s.city_key, s.address) for s in schools] == [
        (1, "école européenne", "ede", "Stationsweg 1"),
        (3, "de odyssee", "ede", None),
    ]
    assert side_a is not None and side_a.school_id == 1
    assert exchange is not None and exchange.city_key == "ede"


# -- 17. long lists page -----------------------------------------------------------------


async def _many_exchanges(h: Harness, count: int) -> None:
    programmes = load_programmes()
    programme = next(iter(programmes.values()))
    async with h.db.write() as session:  # type: ignore[union-attr]
        for n in range(1, count + 1):
            data = ExchangeInput(
                programme_key=programme.key,
                city="Utrecht",
                start_date=date(2027, 2, 1),
                sides=[
                    SideInput(f"School {n}A", None, "groep 8", 24),
                    SideInput(f"School {n}B", None, "groep 8", 22),
                ],
                region="midden",
            )
            await create_exchange(session, data, programme, created_by=None, now=h.clock.now())


async def _page_to(h: Harness, user: FakeUser, chooser: BotMessage, label: str) -> BotMessage:
    """Press 'Meer…' until a button with `label` shows; returns the chooser then."""
    for _ in range(10):
        shown = current(h, user, chooser)
        if label in shown.button_texts:
            return shown
        more = next(t for t in shown.button_texts if t.startswith("Meer"))
        assert await h.press(user, shown, more) == []  # edited in place, nothing new sent
    raise AssertionError(f"{label} never shown")


async def test_long_lists_page_newest_first_with_more(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla", username="carla_wimw")
    await h.send(coordinator, "/start")
    await _many_exchanges(h, 37)

    chooser = only(await h.send(coordinator, "/programma"))
    assert "37" in chooser.text
    assert chooser.button_texts[0].startswith("#37 ")
    assert len(chooser.button_texts) == 11 and chooser.button_texts[-1].startswith("Meer")
    assert "11–20 van 37" in chooser.button_texts[-1]
    oldest = "#1 School 1A – School 1B"
    chooser = await _page_to(h, coordinator, chooser, oldest)
    assert "Terug naar de nieuwste" in chooser.button_texts[-1]
    timeline = only(await h.press(coordinator, chooser, oldest))
    assert "School 1A" in timeline.text

    chooser = only(await h.send(coordinator, "/checklist"))
    chooser = await _page_to(h, coordinator, chooser, oldest)
    progress = only(await h.press(coordinator, chooser, oldest))
    assert "School 1A" in progress.text

    chooser = only(await h.send(coordinator, "/agenda"))
    chooser = await _page_to(h, coordinator, chooser, oldest)
    calendar = only(await h.press(coordinator, chooser, oldest))
    assert calendar.document is not None

    # A conversation's choice pages the same way: /datum for exchange 1.
    chooser = only(await h.send(coordinator, "/datum"))
    assert len(chooser.button_texts) == 11
    chooser = await _page_to(h, coordinator, chooser, oldest)
    phases = only(await h.press(coordinator, chooser, oldest))
    assert "School 1A" in phases.text
    await h.send(coordinator, "/annuleren")

    chooser = only(await h.send(coordinator, "/uitnodigen"))
    chooser = await _page_to(h, coordinator, chooser, oldest)
    links = only(await h.press(coordinator, chooser, oldest))
    assert "School 1A" in links.text
    assert_calm(h)


# -- 18. start-up ------------------------------------------------------------------------


def _start_without_database(command: str) -> tuple[int, str]:
    """Run `python -m bot <command>` against a closed port until two tries were made,
    then press Ctrl-C; returns the exit code and everything it wrote."""
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql+asyncpg://wijkbot:secret@127.0.0.1:1/wijkbot",
        "TELEGRAM_TOKEN": "123456:FAKE-TOKEN",
        "LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", command],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    try:
        while len([line for line in lines if "niet bereikbaar" in line]) < 2:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, "".join(lines) + rest


def test_database_away_at_start_gives_one_clear_line_per_try() -> None:
    for command in ("run", "migrate"):
        code, output = _start_without_database(command)
        assert "Traceback" not in output, output
        tries = [line for line in output.splitlines() if "niet bereikbaar" in line]
        assert len(tries) >= 2, output
        assert "127.0.0.1:1" in tries[0] and "secret" not in output
        assert "Nieuwe poging over 1 s" in tries[0] and "Nieuwe poging over 2 s" in tries[1]
        assert "Ctrl-C" in tries[0]
        assert "Gestopt." in output and code == 130


async def test_restart_replans_every_active_exchange(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.dispatch()  # what is due now (the coordinator hears who joined) is sent first

    async def pending() -> int:
        async with h.db.read() as session:  # type: ignore[union-attr]
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OUTBOX_PENDING)
                )
                or 0
            )

    planned = await pending()
    assert planned > 0
    # As if the plan had been made by an older version that knew fewer messages.
    async with h.db.write() as session:  # type: ignore[union-attr]
        await session.execute(
            delete(OutboxMessage).where(
                (OutboxMessage.exchange_id == p.exchange_id)
                | (OutboxMessage.kind == "coordinator_week")
            )
        )
    assert await pending() == 0
    await h.restart()
    assert await pending() == planned
