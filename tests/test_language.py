"""Language: /taal switches replies and menu; English Telegram users get English."""

from __future__ import annotations

from db.models import User
from tests.fixtures import COORDINATOR_ID, said
from tests.flows import only
from tests.harness import Harness


async def test_language_switch_changes_replies_and_menu(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    choice = only(await h.send(coordinator, "/taal"))
    assert choice.button_texts == ["Nederlands", "English"]
    changed = only(await h.press(coordinator, choice, "English"))
    assert changed.text == said("language.changed", "en")
    assert "/new" in only(await h.send(coordinator, "/help")).text
    menu = [c for c, _ in h.tg.commands({"type": "chat", "chat_id": coordinator.id})]
    assert "new" in menu and "nieuw" not in menu
    # Dutch command names keep working for English users.
    replies = await h.send(coordinator, "/nieuw")
    assert replies[0].text == said("new_exchange.intro", "en")
    assert only(await h.send(coordinator, "/annuleren")).text == said("common.cancelled", "en")
    assert only(await h.send(coordinator, "/taal nl")).text == said("language.changed")
    async with h.db.read() as session:  # type: ignore[union-attr]
        user = await session.get(User, COORDINATOR_ID)
        assert user is not None and user.language == "nl"


async def test_english_telegram_user_is_greeted_in_english(harness: Harness) -> None:
    h = harness
    user = h.user(5005, "Sam", language_code="en")
    assert only(await h.send(user, "/start")).text == said("start.stranger", "en", name="Sam")
