"""Ordering per chat and concurrency across chats."""

from __future__ import annotations

from tests.fixtures import said, said_any
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
    assert said_any("help.text").fullmatch(texts[0])
    assert texts[1] == said("fallback.stranger")
    assert texts[2] == said("fallback.unknown_command")
    assert texts[3] == said("language.choose")
