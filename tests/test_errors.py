"""An unexpected error: an apology to the user and a rate-limited alert to coordinators."""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures import COORDINATOR_ID, said, said_any
from tests.flows import only
from tests.harness import Harness


async def test_unexpected_error_apologises_and_alerts_coordinators_once_a_minute(
    harness: Harness,
) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    await h.send(coordinator, "/start")
    user = h.user(7005, "Unlucky")
    await h.send(user, "/start")

    async def fail_once() -> None:
        h.tg.fail_next("sendMessage", status=400, description="Bad Request: something odd")
        mark = h.tg.last_message_id(user.id)
        update_id = h.tg.push_text(user, "/help")
        await h.processed(update_id)
        sorry = only(h.tg.messages_since(user.id, mark))
        assert sorry.text == said("errors.sorry")

    alerts_before = len(h.tg.messages(COORDINATOR_ID))
    await fail_once()
    alerts = h.tg.messages(COORDINATOR_ID)[alerts_before:]
    assert len(alerts) == 1 and said_any("errors.alert").fullmatch(alerts[0].text)
    assert "BadRequest" in alerts[0].text and "7005" in alerts[0].text
    await fail_once()
    assert len(h.tg.messages(COORDINATOR_ID)) == alerts_before + 1
    h.clock.advance(timedelta(seconds=61))
    await fail_once()
    assert len(h.tg.messages(COORDINATOR_ID)) == alerts_before + 2
