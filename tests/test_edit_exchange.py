"""/wijzig: a coordinator changes a pair afterwards, one field at a time, and sees what it was."""

from __future__ import annotations

from sqlalchemy import select

from bot.services import exchanges
from db.models import Exchange, School
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import said
from tests.flows import create_exchange, joined_exchange, only
from tests.harness import Harness


async def loaded(h: Harness, exchange_id: int) -> Exchange:
    async with h.db.read() as session:  # type: ignore[union-attr]
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        return exchange


async def pick(h: Harness, user: FakeUser, menu: BotMessage, button: str) -> BotMessage:
    return only(await h.press(user, menu, button))


async def test_only_coordinators_may_change_a_pair(harness: Harness) -> None:
    h = harness
    pair = await joined_exchange(h)
    refused = only(await h.send(pair.teacher_a, "/wijzig"))
    assert refused.text == said("auth.not_allowed")
    # In English it is /edit.
    assert only(await h.send(pair.teacher_a, "/edit")).text == said("auth.not_allowed")


async def test_names_address_class_and_size_are_changed_and_confirmed(harness: Harness) -> None:
    h = harness
    pair = await joined_exchange(h)
    c = pair.coordinator
    # One pair: no need to choose it.
    menu = only(await h.send(c, "/wijzig"))
    assert "De Avonturijn, groep 8 (24 leerlingen) – Kolenkitbuurt 12" in menu.text
    assert said("edit_exchange.btn_done") in menu.button_texts

    question = await pick(h, c, menu, said("new_exchange.field_school", side="A"))
    assert "Nu: De Avonturijn" in question.text
    replies = await h.send(c, "X")
    assert "te kort" in replies[0].text and "school A" in replies[1].text
    replies = await h.send(c, "De Odyssee")
    assert replies[0].text == said("edit_exchange.same_school")
    changed, menu = await h.send(c, "De Avonturijn Oost")
    assert changed.text == said(
        "edit_exchange.changed_school", side="A", new="De Avonturijn Oost", old="De Avonturijn"
    )
    assert "De Avonturijn Oost" in menu.text

    question = await pick(h, c, menu, said("new_exchange.field_address", side="B"))
    assert question.text == said("edit_exchange.ask_address_none", school="De Odyssee")
    changed, menu = await h.send(c, "Javaplein 2")
    assert changed.text == said(
        "edit_exchange.changed_address_new", school="De Odyssee", new="Javaplein 2"
    )

    question = await pick(h, c, menu, said("new_exchange.field_class", side="A"))
    changed, menu = await h.press(c, question, "groep 7/8")
    assert changed.text == said(
        "edit_exchange.changed_class", school="De Avonturijn Oost", new="groep 7/8", old="groep 8"
    )

    question = await pick(h, c, menu, said("new_exchange.field_size", side="B"))
    replies = await h.send(c, "99")
    assert "1 tot 40" in replies[0].text
    changed, menu = await h.send(c, "23")
    assert changed.text == said("edit_exchange.changed_size", school="De Odyssee", new=23, old=22)

    # "Terug" leaves a question without a change.
    question = await pick(h, c, menu, said("new_exchange.field_size", side="A"))
    menu = await pick(h, c, question, said("edit_exchange.btn_back"))
    assert "Wat wil je wijzigen?" in menu.text
    done = await pick(h, c, menu, said("edit_exchange.btn_done"))
    assert done.text == said("edit_exchange.done")

    exchange = await loaded(h, pair.exchange_id)
    a, b = exchanges.side_of(exchange, "A"), exchanges.side_of(exchange, "B")
    assert (a.school.name, a.class_name, a.class_size) == ("De Avonturijn Oost", "groep 7/8", 24)
    assert (b.school.address, b.class_size) == ("Javaplein 2", 23)
    # The teachers see the new name in their programme.
    assert "De Avonturijn Oost" in only(await h.send(pair.teacher_b, "/programma")).text


async def test_a_school_of_two_pairs_changes_for_one_only(harness: Harness) -> None:
    h = harness
    c = h.user(1000, "Carla")
    first = await create_exchange(h, c)
    second = await create_exchange(h, c, school_b="De Klimop")
    chooser = only(await h.send(c, "/wijzig"))
    assert chooser.text == said("edit_exchange.choose_exchange")
    menu = await pick(h, c, chooser, f"#{first} De Avonturijn – De Odyssee")
    question = await pick(h, c, menu, said("new_exchange.field_school", side="A"))
    changed, _ = await h.send(c, "Het Kompas")
    assert changed.text == said(
        "edit_exchange.changed_school_own", side="A", new="Het Kompas", old="De Avonturijn"
    )
    assert question.text.startswith("Wat is de nieuwe naam")
    assert exchanges.side_of(await loaded(h, first), "A").school.name == "Het Kompas"
    assert exchanges.side_of(await loaded(h, second), "A").school.name == "De Avonturijn"


async def test_the_name_of_another_school_offers_that_school(harness: Harness) -> None:
    h = harness
    c = h.user(1000, "Carla")
    first = await create_exchange(h, c)
    second = await create_exchange(h, c, school_a="De Klimop", school_b="Het Palet")
    chooser = only(await h.send(c, "/wijzig"))
    menu = await pick(h, c, chooser, f"#{second} De Klimop – Het Palet")
    await pick(h, c, menu, said("new_exchange.field_school", side="A"))
    offer = only(await h.send(c, "de avonturijn"))
    assert "De Avonturijn" in offer.text and "Kolenkitbuurt 12" in offer.text
    changed, _ = await h.press(
        c, offer, said("edit_exchange.btn_use_school", school="De Avonturijn")
    )
    assert changed.text == said(
        "edit_exchange.changed_school", side="A", new="De Avonturijn", old="De Klimop"
    )
    mine = exchanges.side_of(await loaded(h, second), "A").school
    theirs = exchanges.side_of(await loaded(h, first), "A").school
    assert mine.id == theirs.id
    async with h.db.read() as session:  # type: ignore[union-attr]
        names = set(await session.scalars(select(School.name)))
    assert "De Klimop" not in names


async def test_the_region_is_changed_and_an_old_menu_is_stale(harness: Harness) -> None:
    h = harness
    pair = await joined_exchange(h)
    c = pair.coordinator
    menu = only(await h.send(c, "/wijzig"))
    question = await pick(h, c, menu, said("new_exchange.field_region"))
    assert "Nu: Noord" in question.text
    changed, _ = await h.press(c, question, "Zuid")
    assert changed.text.startswith("De regio is nu Zuid (was Noord)")
    assert (await loaded(h, pair.exchange_id)).region == "zuid"
    # The first menu's buttons belong to an earlier question.
    stale = menu.buttons[0][0].callback_data
    assert await h.press_data(c, menu.message_id, stale, force=True) == []
    assert h.tg.callback_answers[-1]["text"] == said("common.button_expired")


async def test_an_archived_pair_is_not_changed(harness: Harness) -> None:
    h = harness
    pair = await joined_exchange(h)
    c = pair.coordinator
    menu = only(await h.send(c, "/wijzig"))
    await pick(h, c, menu, said("new_exchange.field_size", side="A"))
    async with h.db.write() as session:  # type: ignore[union-attr]
        exchange = await session.get(Exchange, pair.exchange_id)
        assert exchange is not None
        exchange.status = "archived"
    await h.send(c, "20")
    assert exchanges.side_of(await loaded(h, pair.exchange_id), "A").class_size == 24
    # Nothing left to change: the chooser has no pair to offer.
    assert only(await h.send(c, "/wijzig")).text == said("programme.none_coordinator")
