"""The conversation engine (bot/dialogs/), through the real bot: a stale button changes
nothing, an answer meant for another kind of conversation is not taken, a step can redraw
the pressed message in place, and a lapsed conversation takes no answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from telegram import Update
from telegram.ext import CallbackContext

from bot.dialogs.engine import conversation_of, dialog_text
from bot.handlers.headcounts import COUNT
from db.models import Dialog, Headcount
from fake_telegram import BotMessage
from tests.fixtures import AMS, said
from tests.flows import JoinedExchange, joined_exchange, only
from tests.harness import Harness

DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)  # exchange day 1 of `joined_exchange`


async def _dialog(h: Harness, chat_id: int) -> tuple[str, str, int, dict[str, Any]] | None:
    """The chat's conversation row as (kind, step, version, data), or None."""
    assert h.db is not None
    async with h.db.read() as session:
        row = await session.get(Dialog, chat_id)
        return None if row is None else (row.kind, row.step, row.version, dict(row.data))


async def _headcounts(h: Harness) -> int:
    assert h.db is not None
    async with h.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Headcount)) or 0)


async def _reporting(h: Harness) -> tuple[JoinedExchange, BotMessage]:
    """A begeleider on an exchange day, asked for the category of an incident."""
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    question = (await h.send(p.begeleider, "/incident"))[-1]
    assert "Schade" in question.button_texts
    return p, question


def _toast(h: Harness) -> str:
    return str(h.tg.callback_answers[-1].get("text") or "")


async def test_a_stale_button_changes_nothing(harness: Harness) -> None:
    h = harness
    p, categories = await _reporting(h)
    b = p.begeleider
    severity = only(await h.press(b, categories, "Schade"))
    before = await _dialog(h, b.id)
    assert before is not None and before[1] == "severity"
    # The category question's button again (a double tap, or an old message scrolled back to).
    data = categories.buttons[0][0].callback_data
    assert await h.press_data(b, categories.message_id, data, force=True) == []
    assert _toast(h) == said("common.button_expired")
    assert await _dialog(h, b.id) == before
    # The current question's buttons still work.
    assert await h.press(b, severity, severity.button_texts[0])
    after = await _dialog(h, b.id)
    assert after is not None and after[1] == "team"


async def test_an_answer_for_another_kind_is_not_taken(harness: Harness) -> None:
    h = harness
    p, categories = await _reporting(h)
    b = p.begeleider
    await h.press(b, categories, "Schade")
    severity = h.tg.last_message(b.id)
    assert severity is not None
    await h.press(b, severity, severity.button_texts[0])
    reporting = await _dialog(h, b.id)
    assert reporting is not None and reporting[:2] == ("incident", "team")
    version = reporting[2]
    # A keypad button of a count, with the version the report happens to be at.
    question = h.tg.last_message(b.id)
    assert question is not None
    assert await h.press_data(b, question.message_id, f"hc:{version}:k:2", force=True) == []
    assert _toast(h) == said("common.button_expired")
    assert await _dialog(h, b.id) == reporting
    # A typed "2" handed to the counting conversation (as when the chat's conversation
    # changed between routing the text and taking it) is not taken as a count.
    assert h.app is not None
    counting = conversation_of(CallbackContext(h.app), COUNT)
    assert counting is not None
    update = Update.de_json(
        {
            "update_id": 999_999,
            "message": {
                "message_id": 999_999,
                "date": int(h.clock.now().timestamp()),
                "chat": {"id": b.id, "type": "private"},
                "from": {"id": b.id, "is_bot": False, "first_name": b.first_name},
                "text": "2",
            },
        },
        h.app.bot,
    )
    mark = h.tg.last_message_id(b.id)
    await dialog_text(update, CallbackContext.from_update(update, h.app), counting)
    assert h.tg.messages_since(b.id, mark) == []
    assert await _dialog(h, b.id) == reporting
    assert await _headcounts(h) == 0
    # Typed to the chat, the same "2" is the report's team number.
    assert await h.send(b, "2")
    now = await _dialog(h, b.id)
    assert now is not None and now[1] == "description" and now[3]["team"] == 2


async def test_a_step_edits_the_pressed_message_in_place(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    moment = only(await h.send(b, "/aanwezig"))
    pad = only(await h.press(b, moment, "aankomst"))
    edits = len(h.tg.calls_to("editMessageText"))
    # A key redraws the keypad's message: no new message, the same buttons, the digit shown.
    assert await h.press(b, pad, "2") == []
    drawn = h.tg.last_message(b.id)
    assert drawn is not None and drawn.message_id == pad.message_id
    assert "Aantal: 2" in drawn.text
    assert drawn.button_texts == pad.button_texts
    assert len(h.tg.calls_to("editMessageText")) == edits + 1
    state = await _dialog(h, b.id)
    assert state is not None and state[3]["entry"] == "2"
    # A key that changes nothing (⌫ on an empty count) edits nothing.
    await h.press(b, pad, "⌫")
    await h.press(b, pad, "⌫")
    assert len(h.tg.calls_to("editMessageText")) == edits + 2
    # ✔ on nothing: the problem as a new message, the keypad stays where it is.
    problem = only(await h.press(b, pad, "✔"))
    assert problem.message_id > pad.message_id
    kept = h.tg.messages(b.id)
    assert any(m.message_id == pad.message_id and m.buttons for m in kept)
    assert await _headcounts(h) == 0
    # ✔ on a count saves it and asks the next school as a new message.
    for key in ("2", "1"):
        await h.press(b, pad, key)
    saved = await h.press(b, pad, "✔")
    assert said("headcounts.saved", school="De Avonturijn", count=21) in saved[0].text
    assert "De Odyssee" in saved[-1].text
    assert await _headcounts(h) == 1
    h.tg.assert_no_errors()


async def test_a_lapsed_conversation_takes_no_answer(harness: Harness) -> None:
    h = harness
    p, categories = await _reporting(h)
    b = p.begeleider
    h.clock.set(h.clock.now() + timedelta(minutes=31))
    assert await h.press(b, categories, "Schade") == []
    assert _toast(h) == said("common.button_expired")
    # The ended conversation is gone, and its keyboard with it.
    assert await _dialog(h, b.id) is None
    message = next(m for m in h.tg.messages(b.id) if m.message_id == categories.message_id)
    assert message.buttons == []
    assert "/help" in only(await h.send(b, "Er is iets gebeurd")).text


async def test_a_row_stored_before_the_typed_data_still_loads(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    # A count halfway, its JSON exactly as the bot has always stored it.
    assert h.db is not None
    async with h.db.write() as session:
        session.add(
            Dialog(
                chat_id=b.id,
                user_id=b.id,
                kind=COUNT,
                step="count",
                data={
                    "choices": [[p.exchange_id, f"#{p.exchange_id}"]],
                    "exchange": p.exchange_id,
                    "moment": "arrival",
                    "side": "A",
                    "entry": "",
                },
                version=3,
                updated_at=h.clock.now(),
            )
        )
    replies = await h.send(b, "23")
    assert said("headcounts.saved", school="De Avonturijn", count=23) in replies[0].text
    assert "De Odyssee" in replies[-1].text
    assert await _headcounts(h) == 1
    state = await _dialog(h, b.id)
    assert state is not None and state[1:3] == ("count", 4)
    assert state[3]["side"] == "B" and state[3]["drops"] == []
