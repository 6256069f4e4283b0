"""Issue 7, points 8–13: locks in one order, rights that follow the setting, archived
exchanges read-only, a throttle nobody can reset, edits that are not new input, and logs
without secrets or what people typed."""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot import logs
from bot.__main__ import _setup_logging
from db.models import (
    PROPOSAL_PENDING,
    Base,
    ChecklistTick,
    CoordinatorChange,
    DateProposal,
    Dialog,
    Headcount,
    OutboxMessage,
    User,
)
from db.session import Database
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, COORDINATOR_ID, START, make_settings, said, said_any
from tests.flows import (
    JoinedExchange,
    count_both,
    create_exchange,
    joined_exchange,
    make_invites,
    only,
)
from tests.harness import Harness

SORRY = said("errors.sorry")
ARCHIVED = "gearchiveerd"
NOT_ALLOWED = said("auth.not_allowed")
EXPIRED = "werkt niet meer"
DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)


def sorry_calls(h: Harness) -> list[str]:
    """Every apology of the error handler (and alert to a coordinator) sent so far."""
    texts = [str(c.params.get("text", "")) for c in h.tg.calls_to("sendMessage")]
    return [t for t in texts if SORRY in t or said_any("errors.alert").search(t)]


async def together(
    h: Harness, pushes: list[tuple[FakeUser, Callable[[], int]]]
) -> dict[int, list[BotMessage]]:
    """Push every update first, then wait for all: the bot handles them at the same moment."""
    marks = {user.id: h.tg.last_message_id(user.id) for user, _ in pushes}
    update_ids = [push() for _, push in pushes]
    for update_id in update_ids:
        await h.processed(update_id)
    return {user.id: h.tg.messages_since(user.id, marks[user.id]) for user, _ in pushes}


# -- 8. No deadlock: crossing proposals and crossing ticks -----------------------------------


async def to_time_question(h: Harness, teacher: FakeUser, day: str) -> None:
    question = only(await h.send(teacher, "/datum"))
    day_question = only(await h.press(teacher, question, "Uitwisselingsdag 1"))
    time_question = only(await h.press(teacher, day_question, day))
    assert "Hoe laat begint" in time_question.text


async def test_crossing_proposals_are_all_kept_and_never_deadlock(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    rounds = 20
    for number in range(1, rounds + 1):
        await to_time_question(h, p.teacher_a, "dinsdag 9 februari")
        await to_time_question(h, p.teacher_b, "donderdag 11 februari")
        answers = await together(
            h,
            [
                (p.teacher_a, lambda: h.tg.push_text(p.teacher_a, "9.30")),
                (p.teacher_b, lambda: h.tg.push_text(p.teacher_b, "10.15")),
            ],
        )
        assert sorry_calls(h) == [], f"round {number}"
        assert "verstuurd naar Bas" in only(answers[p.teacher_a.id]).text
        assert "verstuurd naar Anouk" in only(answers[p.teacher_b.id]).text
        async with h.db.read() as session:  # type: ignore[union-attr]
            proposals = list(await session.scalars(select(DateProposal).order_by(DateProposal.id)))
            notices = list(
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "date_proposal")
                )
            )
        # Nothing lost: every proposal is stored and on its way to the other teacher.
        assert len(proposals) == 2 * number
        assert {(n.payload["proposal"], n.user_id) for n in notices} == {
            (x.id, p.teacher_b.id if x.proposed_by == p.teacher_a.id else p.teacher_a.id)
            for x in proposals
        }
        # Consistent: one proposal is open, the one made last; the other was superseded.
        pending = [x for x in proposals if x.status == PROPOSAL_PENDING]
        assert len(pending) == 1 and pending[0].id == proposals[-1].id, f"round {number}"


async def teachers_of_one_class(h: Harness) -> tuple[FakeUser, FakeUser, int]:
    coordinator = h.user(COORDINATOR_ID, "Carla")
    exchange_id = await create_exchange(h, coordinator)
    invites = await make_invites(h, coordinator, exchange_id)
    first, second = h.user(2001, "Anouk"), h.user(2003, "Sanne")
    for teacher in (first, second):
        assert "leerkracht" in only(await h.send(teacher, f"/start {invites.teacher_a}")).text
    return first, second, exchange_id


async def ticked_items(h: Harness, exchange_id: int) -> set[str]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        rows = await session.scalars(
            select(ChecklistTick.item_key).where(
                ChecklistTick.exchange_id == exchange_id,
                ChecklistTick.holder == "A",
            )
        )
        return set(rows)


async def test_crossing_ticks_end_as_both_teachers_asked(harness: Harness) -> None:
    h = harness
    first, second, exchange_id = await teachers_of_one_class(h)
    for number in range(20):
        views = {t.id: only(await h.send(t, "/checklist")) for t in (first, second)}
        buttons = {t.id: [b for row in views[t.id].buttons for b in row] for t in (first, second)}
        # Two rounds both press the same item (once to tick, once to untick it), then two
        # rounds each presses their own item.
        same = number % 4 < 2
        picks = {first.id: buttons[first.id][0], second.id: buttons[second.id][0 if same else 1]}
        expected = await ticked_items(h, exchange_id)
        for pick in picks.values():
            # ⬜ asks to tick, ✅ to untick: what the teacher saw decides.
            key = str(pick.callback_data).rsplit(":", 1)[1]
            if pick.text.startswith("⬜"):
                expected.add(key)
            else:
                expected.discard(key)
        presses = [
            (t, views[t.id].message_id, str(picks[t.id].callback_data)) for t in (first, second)
        ]
        await together(
            h,
            [
                (t, lambda t=t, m=m, d=d: h.tg.push_callback(t, m, d))  # type: ignore[misc]
                for t, m, d in presses
            ],
        )
        assert sorry_calls(h) == [], f"round {number}"
        assert await ticked_items(h, exchange_id) == expected, f"round {number}"


# -- 9. Coordinator rights follow COORDINATOR_IDS, and the command is logged ----------------


def chat_menu(h: Harness, user: FakeUser) -> list[str]:
    return [c for c, _ in h.tg.commands({"type": "chat", "chat_id": user.id})]


async def is_coordinator(h: Harness, user_id: int) -> bool:
    async with h.db.read() as session:  # type: ignore[union-attr]
        user = await session.get(User, user_id)
        return user is not None and user.is_coordinator


async def changes(h: Harness) -> list[tuple[int, int | None, bool, str]]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        rows = await session.scalars(select(CoordinatorChange).order_by(CoordinatorChange.id))
        return [(r.user_id, r.changed_by, r.granted, r.source) for r in rows]


async def test_rights_from_the_setting_follow_the_setting(
    database: Database, database_url: str
) -> None:
    second = 1001
    async with Harness(
        database_url,
        start=START,
        make_settings=make_settings,
        coordinator_ids=(COORDINATOR_ID, second),
    ) as h:
        dirk = h.user(second, "Dirk")
        assert "coördinator" in only(await h.send(dirk, "/start")).text
        assert "nieuw" in chat_menu(h, dirk)
        assert "Welk programma" in (await h.send(dirk, "/nieuw"))[-1].text
        await h.send(dirk, "/annuleren")

        h._overrides["coordinator_ids"] = (COORDINATOR_ID,)
        await h.restart()
        assert not await is_coordinator(h, second)
        assert NOT_ALLOWED in only(await h.send(dirk, "/nieuw")).text
        # His menu followed at start-up, without him writing first.
        assert "nieuw" not in chat_menu(h, dirk) and "help" in chat_menu(h, dirk)
        assert (second, None, False, "setting") in await changes(h)

        h._overrides["coordinator_ids"] = (COORDINATOR_ID, second)
        await h.restart()
        assert await is_coordinator(h, second)
        assert "nieuw" in chat_menu(h, dirk)


async def test_a_coordinator_appoints_another_and_only_they_revoke_it(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO, logger="bot.services.users")
    carla = h.user(COORDINATOR_ID, "Carla")
    await h.send(carla, "/start")
    eva = h.user(4001, "Eva")
    assert "Ik ken niemand met id 4001" in only(await h.send(carla, "/aanstellen 4001")).text
    await h.send(eva, "/start")
    assert NOT_ALLOWED in only(await h.send(eva, "/aanstellen 4001")).text
    assert "/aanstellen 123456789" in only(await h.send(carla, "/aanstellen Eva")).text
    done = only(await h.send(carla, "/aanstellen 4001")).text
    assert "Eva (4001) is nu coördinator" in done
    assert "Coordinator rights granted to user 4001 by user 1000" in caplog.text
    assert "nieuw" in chat_menu(h, eva)
    assert "Welk programma" in (await h.send(eva, "/nieuw"))[-1].text
    await h.send(eva, "/annuleren")

    # Granted by command: it survives a restart with the setting unchanged.
    await h.restart()
    assert await is_coordinator(h, eva.id)
    # A rights from the setting are not the command's to take; nor are someone else's grants.
    assert "COORDINATOR_IDS" in only(await h.send(eva, f"/intrekken {COORDINATOR_ID}")).text
    finn = h.user(4002, "Finn")
    await h.send(finn, "/start")
    await h.send(eva, "/aanstellen 4002")
    assert "niet aangesteld" in only(await h.send(carla, "/intrekken 4002")).text
    assert "Je eigen rechten" in only(await h.send(eva, "/intrekken 4001")).text

    assert "Eva (4001) is geen coördinator meer" in only(await h.send(carla, "/revoke 4001")).text
    assert "Coordinator rights taken from user 4001 by user 1000" in caplog.text
    assert not await is_coordinator(h, eva.id)
    assert "nieuw" not in chat_menu(h, eva)
    assert NOT_ALLOWED in only(await h.send(eva, "/nieuw")).text
    assert await changes(h) == [
        (COORDINATOR_ID, None, True, "setting"),
        (4001, COORDINATOR_ID, True, "command"),
        (4002, 4001, True, "command"),
        (4001, COORDINATOR_ID, False, "command"),
    ]


# -- 10. An archived exchange is read-only everywhere -----------------------------------------

# Tables whose rows no refused action may change (users see last_seen_at move; dialogs end).
UNCHANGED = [t for t in Base.metadata.sorted_tables if t.name not in ("users", "dialogs")]


async def snapshot(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        out = {}
        for table in UNCHANGED:
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
        return out


def refused(h: Harness, replies: list[BotMessage], *, archived: bool = True) -> str:
    """The one answer to a refused action: a message, or the toast of a pressed button."""
    toast = str(h.tg.callback_answers[-1].get("text") or "") if h.tg.callback_answers else ""
    answer = only(replies).text if replies else toast
    wanted = (ARCHIVED,) if archived else (ARCHIVED, NOT_ALLOWED, EXPIRED)
    assert any(w in answer for w in wanted), answer
    return answer


async def press_old(
    h: Harness, user: FakeUser, message: BotMessage, label: str
) -> list[BotMessage]:
    """Press a button as it was on `message` (a refused press may have removed it since)."""
    data = next(b.callback_data for row in message.buttons for b in row if label in b.text)
    return await h.press_data(user, message.message_id, str(data), force=True)


async def test_an_archived_exchange_refuses_every_old_button_and_command(harness: Harness) -> None:
    h = harness
    p: JoinedExchange = await joined_exchange(h)
    # Before archiving: an open proposal, a checklist, an alarm, open questions.
    await to_time_question(h, p.teacher_a, "donderdag 11 februari")
    await h.send(p.teacher_a, "9.30")
    await h.dispatch()
    proposal = h.tg.last_message(p.teacher_b.id)
    assert proposal is not None and proposal.button_texts == ["Akkoord", "Ander voorstel"]
    checklist = only(await h.send(p.teacher_b, "/checklist"))
    await h.run_until(DAY_1)
    b = p.begeleider
    await h.send(b, "/checkin")
    await count_both(h, b, "24 22")
    drop = next(m for m in await count_both(h, b, "21 22") if "minder" in m.text)
    await h.press(b, drop, "vermist")
    await h.dispatch()
    alert = next(m for m in h.tg.messages(p.teacher_a.id) if "Gezien" in str(m.button_texts))
    counting = only(await h.send(p.teacher_b, "/aanwezig"))
    date_question = only(await h.send(p.coordinator, "/datum"))
    date_question = only(await h.press(p.coordinator, date_question, "Uitwisselingsdag 2"))

    confirm = only(await h.send(p.coordinator, f"/archiveren {p.exchange_id}"))
    assert "gearchiveerd" in only(await h.press(p.coordinator, confirm, "archiveren")).text
    before = await snapshot(h)

    # Old buttons.
    refused(h, await press_old(h, p.teacher_b, proposal, "Akkoord"))
    refused(h, await press_old(h, p.teacher_b, proposal, "Ander voorstel"))
    refused(h, await press_old(h, p.teacher_b, checklist, checklist.buttons[0][0].text))
    refused(h, await press_old(h, p.teacher_a, alert, "Gezien"), archived=False)
    refused(h, await press_old(h, p.teacher_a, alert, "Opgelost"), archived=False)
    refused(h, await press_old(h, b, drop, "vermist"), archived=False)
    refused(h, await press_old(h, b, drop, "opgehaald"), archived=False)
    refused(h, await press_old(h, p.teacher_b, counting, counting.button_texts[0]), archived=False)
    day = date_question.button_texts[0]
    refused(h, await press_old(h, p.coordinator, date_question, day), archived=False)
    # Typed answers of conversations that were open, and the alarm's note mode.
    assert ARCHIVED in only(await h.send(b, "Nog steeds niet gevonden, bij de speeltuin")).text
    # Write commands, by everyone who could use them before.
    for user, command in (
        (b, "/checkin"),
        (b, "/aanwezig 24 22"),
        (p.teacher_a, "/aanwezig 24 22"),
        (p.teacher_a, "/datum"),
        (p.teacher_a, "/klas 25"),
        (p.coordinator, f"/klas {p.exchange_id} A 25"),
        (p.coordinator, f"/uitnodigen {p.exchange_id}"),
        (p.coordinator, f"/archiveren {p.exchange_id}"),
    ):
        replies = await h.send(user, command)
        assert replies and all(SORRY not in r.text for r in replies), (command, replies)
        assert not any(r.buttons for r in replies), (command, [r.text for r in replies])
    for command in (f"/klas {p.exchange_id} A 25", f"/uitnodigen {p.exchange_id}"):
        refused(h, await h.send(p.coordinator, command))
    assert sorry_calls(h) == []
    assert await snapshot(h) == before


# -- 11. The invite throttle cannot be reset ---------------------------------------------------


async def test_own_valid_link_does_not_reset_the_throttle(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    invites = await make_invites(h, p.coordinator, p.exchange_id)
    guesser = h.user(2002, "Bas")  # already a teacher of side B
    for attempt in range(3):
        assert "werkt niet" in only(await h.send(guesser, f"/start guess{attempt}")).text
    await h.send(guesser, f"/start {invites.teacher_b}")  # his own link: valid, changes nothing
    assert "Te veel links" in only(await h.send(guesser, "/start guess3")).text
    h.clock.advance(timedelta(minutes=2))
    await h.send(guesser, f"/start {invites.teacher_b}")
    locked = only(await h.send(guesser, "/start guess4")).text
    assert "Te veel links" in locked and "2 minuten" in locked  # the wait grows
    async with h.db.read() as session:  # type: ignore[union-attr]
        user = await session.get(User, guesser.id)
        assert user is not None and user.bad_invite_count == 5


# -- 12. Edits are not new input ---------------------------------------------------------------

NOT_READ = said("edits.not_read")


async def edit(h: Harness, user: FakeUser, new_text: str) -> list[BotMessage]:
    mark = h.tg.last_message_id(user.id)
    await h.processed(h.tg.push_edit(user, None, new_text))
    return h.tg.messages_since(user.id, mark)


async def test_an_edited_count_is_not_counted_again(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    await h.send(p.begeleider, "/checkin")
    await count_both(h, p.begeleider, "24 22")
    assert NOT_READ in only(await edit(h, p.begeleider, "/aanwezig 24 21")).text
    async with h.db.read() as session:  # type: ignore[union-attr]
        counts = list(await session.scalars(select(Headcount.count).order_by(Headcount.id)))
    assert counts == [24, 22]
    assert sorry_calls(h) == []


async def test_an_edited_answer_in_new_is_not_the_next_answer(harness: Harness) -> None:
    h = harness
    carla = h.user(COORDINATOR_ID, "Carla")
    replies = await h.send(carla, "/nieuw")
    replies = await h.press(carla, replies[-1], "Uitwisseling in 4 weken")
    replies = await h.send(carla, "Amsterdam")
    if "regio" in replies[-1].text:
        replies = await h.press(carla, replies[-1], "Noord")
    assert "school A" in replies[-1].text
    question = (await h.send(carla, "De Avonturijn"))[-1].text

    async def dialog_state() -> tuple[str, int, dict[str, Any]]:
        async with h.db.read() as session:  # type: ignore[union-attr]
            dialog = await session.get(Dialog, carla.id)
            assert dialog is not None
            return dialog.step, dialog.version, dict(dialog.data)

    state = await dialog_state()
    assert NOT_READ in only(await edit(h, carla, "Kolenkitbuurt 12")).text
    assert await dialog_state() == state
    # The conversation goes on where it was: the next answer is the address of school A.
    assert "adres" in question


# -- 13. No secret or pupil data in logs ---------------------------------------------------------

RAW_TOKEN = "  123456:TEST-TOKEN \n"
SECRET_NOTE = "Zoë Jansen rende weg richting het Vondelpark"
FAILED_NOTE = "Mees de Vries heeft astma en zijn pufje ligt op school"
TYPED = "Kolenkitbuurt 99 achterom"


async def refuse_incident_notes(database: Database, *, on: bool) -> None:
    """A trigger that makes storing an incident note fail, as a broken database would."""
    async with database.engine.begin() as connection:
        if database.is_sqlite:
            statements = (
                [
                    "CREATE TRIGGER refuse_notes BEFORE INSERT ON incident_actions "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                ]
                if on
                else ["DROP TRIGGER IF EXISTS refuse_notes"]
            )
        else:
            statements = (
                [
                    "CREATE OR REPLACE FUNCTION refuse_notes() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
                    "CREATE TRIGGER refuse_notes BEFORE INSERT ON incident_actions "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_notes()",
                ]
                if on
                else [
                    "DROP TRIGGER IF EXISTS refuse_notes ON incident_actions",
                    "DROP FUNCTION IF EXISTS refuse_notes()",
                ]
            )
        for statement in statements:
            await connection.execute(text(statement))


async def test_debug_logs_hold_no_token_and_nothing_anyone_typed(
    database: Database, database_url: str
) -> None:
    stream = io.StringIO()
    mine = logging.StreamHandler(stream)
    root = logging.getLogger()
    saved_level = root.level
    saved_formatters = {h: h.formatter for h in root.handlers}
    quiet = ("httpx", "httpcore", *logs.QUIET)
    saved_levels = {name: logging.getLogger(name).level for name in quiet}
    root.addHandler(mine)
    settings = make_settings(database_url, "http://127.0.0.1:1", telegram_token=RAW_TOKEN)
    # What `python -m bot run` does with LOG_LEVEL=DEBUG.
    _setup_logging(dataclasses.replace(settings, log_level="DEBUG"))
    try:
        async with Harness(
            database_url,
            start=START,
            make_settings=make_settings,
            telegram_token=RAW_TOKEN,
            log_level="DEBUG",
        ) as h:
            p = await joined_exchange(h)
            # A typed answer in a conversation.
            replies = await h.send(p.coordinator, "/nieuw")
            await h.press(p.coordinator, replies[-1], "Uitwisseling in 4 weken")
            await h.send(p.coordinator, TYPED)
            await h.send(p.coordinator, "/annuleren")
            # An alarm with a distinctive description, sent to everyone.
            await h.run_until(DAY_1)
            b = p.begeleider
            await h.send(b, "/checkin")
            await count_both(h, b, "24 22")
            drop = next(m for m in await count_both(h, b, "21 22") if "minder" in m.text)
            await h.press(b, drop, "vermist")
            await h.send(b, SECRET_NOTE)
            await h.dispatch()
            assert any(SECRET_NOTE in m.text for m in h.tg.messages(p.teacher_a.id))
            # A write that fails: the error handler logs it, with the SQL.
            await refuse_incident_notes(database, on=True)
            try:
                assert SORRY in only(await h.send(b, FAILED_NOTE)).text
            finally:
                await refuse_incident_notes(database, on=False)
            # A library that logs a request URL, with the token as the bot uses it.
            logging.getLogger("httpx").warning(
                "HTTP Request: POST %s/bot%s/getMe", h.tg.url, RAW_TOKEN.strip()
            )
    finally:
        root.removeHandler(mine)
        root.setLevel(saved_level)
        for handler, formatter in saved_formatters.items():
            handler.setFormatter(formatter)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
    log = stream.getvalue()
    assert "Error while handling" in log and "incident_actions" in log  # the failure is there
    assert "[token]" in log
    for secret in (RAW_TOKEN.strip(), "TEST-TOKEN", SECRET_NOTE, FAILED_NOTE, TYPED, "Zoë"):
        assert secret not in log, secret


async def test_the_log_helper_redacts_every_form_of_the_token() -> None:
    assert logs.secret_forms(RAW_TOKEN) == [RAW_TOKEN, RAW_TOKEN.strip()]
    assert logs.secret_forms("   ") == [] and logs.secret_forms(None) == []
