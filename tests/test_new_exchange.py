"""Every bad answer in /nieuw gets a clear message, the question again, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Dialog, Exchange, School
from tests.fixtures import COORDINATOR_ID, said
from tests.flows import only
from tests.harness import Harness


async def exchanges_and_schools(h: Harness) -> tuple[int, int]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        exchanges = await session.scalar(select(func.count()).select_from(Exchange))
        schools = await session.scalar(select(func.count()).select_from(School))
    return int(exchanges or 0), int(schools or 0)


async def to_step(h: Harness, step: str) -> None:
    """Answer /nieuw validly up to (not including) `step`."""
    c = h.user(COORDINATOR_ID, "Carla")
    replies = await h.send(c, "/nieuw")
    replies = await h.press(c, replies[-1], "Uitwisseling in 4 weken")
    answers = [
        ("city", "Amsterdam"),
        ("school_a", "De Avonturijn"),
        ("address_a", "Kolenkit 1"),
        ("class_a", "groep 8"),
        ("size_a", "24"),
        ("school_b", "De Odyssee"),
        ("address_b", "Noordweg 4"),
        ("class_b", "groep 8"),
        ("size_b", "22"),
    ]
    for name, answer in answers:
        if name == step:
            return
        replies = await h.send(c, answer)
        if name == "city":
            await h.press(c, replies[-1], "Noord")
    assert step == "start"


BAD = [
    ("school_a", "X", "te kort", "school A"),
    ("school_a", "A" * 150, "te lang", "school A"),
    ("address_a", "12", "te kort", "adres"),
    ("class_a", "G", "te kort", "Welke klas"),
    ("size_a", "vierentwintig", "als getal", "Hoeveel leerlingen"),
    ("size_a", "0", "1 tot 40", "Hoeveel leerlingen"),
    ("size_a", "-3", "als getal", "Hoeveel leerlingen"),
    ("size_a", "99", "1 tot 40", "Hoeveel leerlingen"),
    ("school_b", "de avonturijn", "andere school", "school B"),
    ("start", "gisteren", "begrijp ik niet", "Wanneer begint"),
    ("start", "31-02-2027", "bestaat niet", "Wanneer begint"),
    ("start", "4-1-2027", "al voorbij", "Wanneer begint"),
    ("start", "16-1-2027", "zaterdag of zondag", "Wanneer begint"),
    ("start", "1-3-2030", "anderhalf jaar", "Wanneer begint"),
]


@pytest.mark.parametrize(("step", "answer", "problem", "question"), BAD)
async def test_bad_answer_is_explained_and_asked_again(
    harness: Harness, step: str, answer: str, problem: str, question: str
) -> None:
    h = harness
    await to_step(h, step)
    async with h.db.read() as session:  # type: ignore[union-attr]
        before = await session.get(Dialog, COORDINATOR_ID)
        assert before is not None
        before_state = (before.step, dict(before.data))
    replies = await h.send(h.user(COORDINATOR_ID), answer)
    assert len(replies) == 2, [r.text for r in replies]
    assert problem in replies[0].text
    assert question in replies[1].text
    async with h.db.read() as session:  # type: ignore[union-attr]
        after = await session.get(Dialog, COORDINATOR_ID)
        assert after is not None
        assert (after.step, dict(after.data)) == before_state
    assert await exchanges_and_schools(h) == (0, 0)


async def test_cancel_at_any_step_saves_nothing(harness: Harness) -> None:
    h = harness
    await to_step(h, "start")
    await h.send(h.user(COORDINATOR_ID), "12 februari")
    reply = only(await h.send(h.user(COORDINATOR_ID), "/annuleren"))
    assert reply.text == said("common.cancelled")
    assert await exchanges_and_schools(h) == (0, 0)
    again = only(await h.send(h.user(COORDINATOR_ID), "/annuleren")).text
    assert again == said("common.nothing_to_cancel")
    # After cancelling, typed text is no longer taken as an answer.
    typed = only(await h.send(h.user(COORDINATOR_ID), "De Klimop")).text
    assert typed == said("fallback.free_text")


async def test_start_date_is_moved_to_its_monday_and_summarised(harness: Harness) -> None:
    h = harness
    await to_step(h, "start")
    confirm = only(await h.send(h.user(COORDINATOR_ID), "4 februari"))
    assert "maandag 1 februari – vrijdag 5 februari" in confirm.text
    assert "voorlopig" in confirm.text
    assert confirm.button_texts == [said("new_exchange.btn_save"), said("new_exchange.btn_cancel")]
    # Typing instead of pressing a button at the confirmation asks for the button.
    replies = await h.send(h.user(COORDINATOR_ID), "ja")
    assert replies[0].text == said("common.use_buttons")
    cancelled = only(
        await h.press(h.user(COORDINATOR_ID), replies[-1], said("new_exchange.btn_cancel"))
    )
    assert cancelled.text == said("common.cancelled")
    assert await exchanges_and_schools(h) == (0, 0)


async def test_button_of_an_earlier_step_is_refused(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID, "Carla")
    replies = await h.send(c, "/nieuw")
    programme_question = replies[-1]
    await h.press(c, programme_question, "Uitwisseling in 4 weken")
    # Pressing the same (now used) button again, as a double tap would.
    stale = await h.press_data(
        c, programme_question.message_id, programme_question.buttons[0][0].callback_data, force=True
    )
    assert stale == []
    assert h.tg.callback_answers[-1]["text"] == said("common.button_expired")
    async with h.db.read() as session:  # type: ignore[union-attr]
        dialog = await session.get(Dialog, COORDINATOR_ID)
        assert dialog is not None and dialog.step == "city_new"


async def test_double_tapped_save_creates_one_exchange(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID, "Carla")
    await to_step(h, "start")
    confirm = only(await h.send(c, "1 februari"))
    data = confirm.buttons[0][0].callback_data
    first = h.tg.push_callback(c, confirm.message_id, data)
    second = h.tg.push_callback(c, confirm.message_id, data, force=True)
    await h.processed(first)
    await h.processed(second)
    assert await exchanges_and_schools(h) == (1, 2)
