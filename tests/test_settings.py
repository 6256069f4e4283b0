"""/instellingen: a coordinator chooses whether routine notices are gathered into the Monday
summary; the button edits the message, a second tap changes nothing, nobody else may."""

from __future__ import annotations

from db.models import User
from fake_telegram import FakeUser
from tests.fixtures import said
from tests.flows import joined_exchange, only
from tests.harness import Harness


async def gathers(h: Harness, user: FakeUser) -> bool:
    assert h.db is not None
    async with h.db.read() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return row.gather_notices


def view(state: str, lang: str = "nl") -> str:
    return said("settings.view", lang, state=said(f"settings.state_{state}", lang))


async def test_a_coordinator_switches_gathering_on_and_off(harness: Harness) -> None:
    h = harness
    carla = h.user(1000, "Carla")
    shown = only(await h.send(carla, "/instellingen"))
    # Immediate is the default; incidents and alarms are always immediate, and it says so.
    assert shown.text == view("immediate")
    assert "Incidenten en alarmen krijg je altijd meteen" in shown.text
    assert shown.button_texts == [said("settings.btn_gather")]
    assert not await gathers(h, carla)

    assert await h.press(carla, shown, said("settings.btn_gather")) == []  # edits, sends nothing
    assert h.tg.callback_answers[-1]["text"] == said("settings.saved_gather")
    edited = h.tg.last_message(carla.id)
    assert edited is not None and edited.message_id == shown.message_id
    assert edited.text == view("gather")
    assert edited.button_texts == [said("settings.btn_immediate")]
    assert await gathers(h, carla)

    # A second tap on the old button sets what is already set: nothing changes.
    old = shown.buttons[0][0].callback_data
    assert old is not None
    await h.press_data(carla, shown.message_id, old, force=True)
    assert await gathers(h, carla)
    assert h.tg.last_message(carla.id).text == view("gather")  # type: ignore[union-attr]

    await h.press(carla, edited, said("settings.btn_immediate"))
    assert not await gathers(h, carla)
    assert h.tg.last_message(carla.id).text == view("immediate")  # type: ignore[union-attr]
    # A fresh /instellingen shows what is stored.
    assert only(await h.send(carla, "/instellingen")).text == view("immediate")


async def test_only_coordinators_have_settings(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    shown = only(await h.send(p.coordinator, "/instellingen"))
    for user in (p.teacher_a, p.begeleider, h.user(9999, "Stranger")):
        assert only(await h.send(user, "/instellingen")).text == said("auth.not_allowed")
        # A button forged from the coordinator's message changes nothing for them.
        data = shown.buttons[0][0].callback_data
        assert data is not None
        assert await h.press_data(user, shown.message_id, data, force=True) == []
        assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")
        assert not await gathers(h, user)
    # Data that is no choice at all is refused too.
    await h.press_data(p.coordinator, shown.message_id, "set:gather:2", force=True)
    assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")
    assert not await gathers(h, p.coordinator)


async def test_settings_in_english(harness: Harness) -> None:
    h = harness
    carla = h.user(1000, "Carla", language_code="en")
    shown = only(await h.send(carla, "/settings"))
    assert shown.text == view("immediate", "en")
    assert "Incidents and alarms always reach you at once" in shown.text
    await h.press(carla, shown, said("settings.btn_gather", "en"))
    assert h.tg.last_message(carla.id).text == view("gather", "en")  # type: ignore[union-attr]
