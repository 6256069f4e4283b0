"""Every bad answer in /nieuw gets a clear message, the question again, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from db.models import Dialog, Exchange, School
from fake_telegram import BotMessage
from tests.fixtures import COORDINATOR_ID, said
from tests.flows import create_exchange, only
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
    assert typed == said("fallback.coordinator_none")


async def test_start_date_is_moved_to_its_monday_and_summarised(harness: Harness) -> None:
    h = harness
    await to_step(h, "start")
    confirm = only(await h.send(h.user(COORDINATOR_ID), "4 februari"))
    assert "maandag 1 februari – vrijdag 5 februari" in confirm.text
    assert "voorlopig" in confirm.text
    assert confirm.button_texts == [
        said("new_exchange.btn_save"),
        said("new_exchange.btn_edit"),
        said("new_exchange.btn_cancel"),
    ]
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


# -- "Wijzig…": one answer again, then back to the summary -----------------------------------


async def summary(h: Harness, start: str = "1 februari") -> BotMessage:
    """Answer every question of /nieuw validly; the summary with its buttons."""
    await to_step(h, "start")
    confirm = only(await h.send(h.user(COORDINATOR_ID), start))
    assert "Klopt dit?" in confirm.text
    return confirm


async def change(h: Harness, confirm: BotMessage, field: str) -> BotMessage:
    """Press "Wijzig…" under the summary and then the field's button; its question."""
    c = h.user(COORDINATOR_ID)
    fields = only(await h.press(c, confirm, said("new_exchange.btn_edit")))
    assert fields.text == said("new_exchange.ask_field")
    return only(await h.press(c, fields, field))


async def stored(h: Harness) -> Exchange:
    async with h.db.read() as session:  # type: ignore[union-attr]
        exchange = await session.scalar(
            select(Exchange).options(selectinload(Exchange.sides)).order_by(Exchange.id.desc())
        )
        assert exchange is not None
        return exchange


async def test_summary_offers_to_change_every_field(harness: Harness) -> None:
    h = harness
    confirm = await summary(h)
    fields = only(await h.press(h.user(COORDINATOR_ID), confirm, said("new_exchange.btn_edit")))
    # The region was asked (a city without earlier exchanges), so it can be changed too.
    assert fields.button_texts == [
        said("new_exchange.field_programme"),
        said("new_exchange.field_city"),
        said("new_exchange.field_school", side="A"),
        said("new_exchange.field_school", side="B"),
        said("new_exchange.field_address", side="A"),
        said("new_exchange.field_address", side="B"),
        said("new_exchange.field_class", side="A"),
        said("new_exchange.field_class", side="B"),
        said("new_exchange.field_size", side="A"),
        said("new_exchange.field_size", side="B"),
        said("new_exchange.field_start"),
        said("new_exchange.field_region"),
        said("new_exchange.btn_back"),
    ]
    back = only(await h.press(h.user(COORDINATOR_ID), fields, said("new_exchange.btn_back")))
    assert back.text == confirm.text


async def test_a_typo_is_fixed_and_the_summary_comes_back(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID)
    confirm = await summary(h)
    question = await change(h, confirm, said("new_exchange.field_school", side="B"))
    assert "school B" in question.text
    assert said("new_exchange.btn_keep") in question.button_texts
    # The same checks as the first time: too short, or the same school as A.
    replies = await h.send(c, "X")
    assert "te kort" in replies[0].text and "school B" in replies[1].text
    replies = await h.send(c, "de avonturijn")
    assert replies[0].text == said("new_exchange.same_school")
    # A good answer leads back to the summary, not to the address of school B.
    again = only(await h.send(c, "De Odyssee Noord"))
    assert "Klopt dit?" in again.text
    assert "De Odyssee Noord" in again.text and "Noordweg 4" in again.text
    assert "De Avonturijn" in again.text and "Kolenkit 1" in again.text
    only(await h.press(c, again, said("new_exchange.btn_save")))
    exchange = await stored(h)
    async with h.db.read() as session:  # type: ignore[union-attr]
        names = set(await session.scalars(select(School.name)))
    assert names == {"De Avonturijn", "De Odyssee Noord"}
    assert sorted(s.class_size for s in exchange.sides) == [22, 24]


async def test_leave_as_it_is_changes_nothing(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID)
    confirm = await summary(h)
    question = await change(h, confirm, said("new_exchange.field_size", side="A"))
    replies = await h.send(c, "99")
    assert "1 tot 40" in replies[0].text and "Hoeveel leerlingen" in replies[1].text
    back = only(await h.press(c, replies[-1], said("new_exchange.btn_keep")))
    assert back.text == confirm.text
    assert question.text.startswith("Hoeveel leerlingen")


async def test_a_new_start_date_moves_the_provisional_dates(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID)
    confirm = await summary(h, "1 februari")
    assert "maandag 1 februari – vrijdag 5 februari" in confirm.text
    await change(h, confirm, said("new_exchange.field_start"))
    again = only(await h.send(c, "10 februari"))
    assert "maandag 8 februari – vrijdag 12 februari" in again.text
    assert "maandag 1 februari" not in again.text
    only(await h.press(c, again, said("new_exchange.btn_save")))
    assert (await stored(h)).start_date.isoformat() == "2027-02-08"


async def test_a_class_is_changed_with_its_buttons(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID)
    confirm = await summary(h)
    question = await change(h, confirm, said("new_exchange.field_class", side="A"))
    assert "groep 7/8" in question.button_texts
    again = only(await h.press(c, question, "groep 7/8"))
    assert "De Avonturijn, groep 7/8 (24 leerlingen)" in again.text


async def test_another_city_asks_its_region_and_reuses_its_schools(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID, "Carla")
    # Rotterdam is known (region zuid), with De Avonturijn at Kolenkitbuurt 12.
    await create_exchange(h, c, city="Rotterdam", region="Zuid")
    confirm = await summary(h)
    assert "Kolenkit 1" in confirm.text
    question = await change(h, confirm, said("new_exchange.field_city"))
    assert "Rotterdam" in question.button_texts
    # A known city: its region is taken, its school's address too.
    again = only(await h.press(c, question, "Rotterdam"))
    assert "Klopt dit?" in again.text
    assert "De Avonturijn, groep 8 (24 leerlingen) – Kolenkitbuurt 12" in again.text
    fields = only(await h.press(c, again, said("new_exchange.btn_edit")))
    assert said("new_exchange.field_region") not in fields.button_texts
    # A city never seen before: its region is asked (with no way around it), then the summary.
    question = only(await h.press(c, fields, said("new_exchange.field_city")))
    typed = only(await h.press(c, question, said("new_exchange.btn_other_city")))
    region = only(await h.send(c, "Utrecht"))
    assert region.text == said("new_exchange.ask_region", city="Utrecht")
    assert said("new_exchange.btn_keep") not in region.button_texts
    assert typed.text == said("new_exchange.ask_city_new")
    again = only(await h.press(c, region, "Midden"))
    assert "Klopt dit?" in again.text and "Utrecht" in again.text
    # The Rotterdam address belonged to the Rotterdam school: it is not kept for Utrecht.
    assert "Kolenkitbuurt 12" not in again.text
    only(await h.press(c, again, said("new_exchange.btn_save")))
    exchange = await stored(h)
    assert (exchange.city, exchange.region) == ("Utrecht", "midden")


async def test_an_older_summary_is_stale_after_a_change(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID)
    confirm = await summary(h)
    save = confirm.buttons[0][0].callback_data
    await change(h, confirm, said("new_exchange.field_start"))
    # The first summary's "Opslaan", pressed while the start date is being asked again.
    assert await h.press_data(c, confirm.message_id, save, force=True) == []
    assert h.tg.callback_answers[-1]["text"] == said("common.button_expired")
    assert await exchanges_and_schools(h) == (0, 0)


async def test_another_programme_changes_the_dates_shown(harness: Harness) -> None:
    h = harness
    c = h.user(COORDINATOR_ID)
    confirm = await summary(h)
    question = await change(h, confirm, said("new_exchange.field_programme"))
    assert question.text == said("new_exchange.ask_programme")
    again = only(await h.press(c, question, "Vriendschapsscholen (een schooljaar)"))
    assert "Klopt dit?" in again.text
    assert "Kennismaking" in again.text and again.text != confirm.text
    only(await h.press(c, again, said("new_exchange.btn_save")))
    assert (await stored(h)).programme_key == "vriendschapsscholen"
