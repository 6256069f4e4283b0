"""Ordering per chat, concurrency across chats, unknown input and unexpected errors."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import COORDINATOR_ID
from tests.flows import only
from tests.harness import Harness


async def test_slow_chat_does_not_hold_up_another(harness: Harness) -> None:
    h = harness
    slow, quick = h.user(7001, "Slow"), h.user(7002, "Quick")
    await h.send(slow, "/start")
    await h.send(quick, "/start")
    h.tg.delay_next("sendMessage", 1.5)
    slow_update = h.tg.push_text(slow, "/help")
    await h.tg.wait_for_call("sendMessage", lambda c: c.params.get("chat_id") in (7001, "7001"))
    reply = only(await h.send(quick, "/help"))
    assert "/taal" in reply.text
    # The quick chat was answered while the slow chat's reply was still on its way.
    assert "/taal" not in h.tg.messages(slow.id)[-1].text
    await h.processed(slow_update)
    assert "/taal" in h.tg.messages(slow.id)[-1].text


async def test_one_chat_is_answered_in_the_order_it_wrote(harness: Harness) -> None:
    h = harness
    user = h.user(7003, "Orderly")
    await h.send(user, "/start")
    mark = h.tg.last_message_id(user.id)
    h.tg.delay_next("sendMessage", 0.3)
    ids = [h.tg.push_text(user, text) for text in ("/help", "hallo", "/onbekend", "/taal")]
    for update_id in ids:
        await h.processed(update_id)
    texts = [m.text for m in h.tg.messages_since(user.id, mark)]
    assert len(texts) == 4
    assert "Wat je hier kunt doen" in texts[0]
    assert "Daar kan ik niets mee" in texts[1]
    assert "commando ken ik niet" in texts[2]
    assert "Welke taal" in texts[3]


async def test_unknown_command_free_text_and_stickers_point_to_help(harness: Harness) -> None:
    h = harness
    user = h.user(7004, "Lost")
    assert "/help" in only(await h.send(user, "/vliegen")).text
    assert "/help" in only(await h.send(user, "wat moet ik doen?")).text
    mark = h.tg.last_message_id(user.id)
    update_id = h.tg.push_photo(user)
    await h.processed(update_id)
    assert "alleen tekst" in only(h.tg.messages_since(user.id, mark)).text
    mark = h.tg.last_message_id(user.id)
    update_id = h.tg.push_location(user, 52.37, 4.89)
    await h.processed(update_id)
    assert "/checkin" in only(h.tg.messages_since(user.id, mark)).text
    h.tg.assert_no_errors()


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
        assert "Sorry, er ging iets mis" in sorry.text

    alerts_before = len(h.tg.messages(COORDINATOR_ID))
    await fail_once()
    alerts = h.tg.messages(COORDINATOR_ID)[alerts_before:]
    assert len(alerts) == 1 and "Fout in de bot" in alerts[0].text
    assert "BadRequest" in alerts[0].text and "7005" in alerts[0].text
    await fail_once()
    assert len(h.tg.messages(COORDINATOR_ID)) == alerts_before + 1
    h.clock.advance(timedelta(seconds=61))
    await fail_once()
    assert len(h.tg.messages(COORDINATOR_ID)) == alerts_before + 2
