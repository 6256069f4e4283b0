"""A real PTB Application polling the fake server; update offsets and redelivery."""

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Conflict

from fake_telegram import FakeTelegram, WaitTimeout, application_builder, make_bot, polling


async def test_text_gets_a_reply(tg: FakeTelegram, echo_app):
    anna = tg.user(1001, "Anna")
    async with polling(echo_app(tg, plain_builder=True)):
        mark = tg.last_message_id(anna.id)
        tg.push_text(anna, "hallo")
        reply = await tg.wait_for_message(anna.id, after_message_id=mark)
    assert reply.text == "Je zei: hallo"
    assert reply.chat_id == anna.id
    tg.assert_no_errors()


async def test_command_button_press_and_edit(tg: FakeTelegram, echo_app):
    anna = tg.user(1001, "Anna")
    async with polling(echo_app(tg)):
        tg.push_text(anna, "/start")
        welcome = await tg.wait_for_message(anna.id)
        assert welcome.text == "Welkom Anna!"
        assert welcome.entities == [{"type": "bold", "offset": 7, "length": 4}]
        assert welcome.parse_mode == "HTML"
        assert welcome.button_texts == ["Ja, graag", "Nee"]
        assert welcome.buttons[1][0].callback_data == "answer:no"

        tg.press_button(anna, welcome, "Ja")
        edit = await tg.wait_for_call("editMessageText")
    assert edit.ok
    assert tg.callback_answers[0]["text"] == "Genoteerd"
    assert tg.callback_answers[0]["show_alert"] is False
    edited = tg.last_message(anna.id)
    assert edited.message_id == welcome.message_id
    assert edited.text == "Keuze: yes"
    assert edited.edited
    # Editing without reply_markup drops the keyboard, like on Telegram.
    assert edited.buttons == []
    assert welcome.button_texts == ["Ja, graag", "Nee"], "snapshots do not change"
    tg.assert_no_errors()


async def test_command_with_bot_username(tg: FakeTelegram, bot: Bot, echo_app):
    anna = tg.user(1001, "Anna")
    update_id = tg.push_text(anna, f"/start@{tg.bot_username} extra")
    (update,) = await bot.get_updates()
    assert update.update_id == update_id
    (entity,) = update.message.entities
    assert (entity.type, entity.offset, entity.length) == (
        "bot_command",
        0,
        len(f"/start@{tg.bot_username}"),
    )
    async with polling(echo_app(tg)):
        welcome = await tg.wait_for_message(anna.id)
    assert welcome.text == "Welkom Anna!"


async def test_press_button_errors(tg: FakeTelegram, bot: Bot):
    anna = tg.user(1001, "Anna")
    tg.push_text(anna, "hi")
    message = await bot.send_message(
        anna.id,
        "Kies",
        reply_markup=InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Optie 1", callback_data="o1")],
                [InlineKeyboardButton("Optie 2", callback_data="o2")],
                [InlineKeyboardButton("Site", url="https://example.org")],
            ]
        ),
    )
    with pytest.raises(AssertionError, match=r"2 buttons"):
        tg.press_button(anna, message.message_id, "Optie")
    with pytest.raises(AssertionError, match=r"no button"):
        tg.press_button(anna, message.message_id, "Optie 3")
    with pytest.raises(AssertionError, match=r"no callback_data"):
        tg.press_button(anna, message.message_id, "Site")
    with pytest.raises(AssertionError, match=r"no inline button"):
        tg.push_callback(anna, message.message_id, "forged")
    with pytest.raises(AssertionError, match=r"no bot message"):
        tg.push_callback(anna, 999, "o1")
    # Forged data is allowed on request, also for messages that do not exist.
    tg.push_callback(anna, message.message_id, "forged", force=True)
    tg.push_callback(anna, 999, "o1", force=True)
    updates = await bot.get_updates()
    queries = [u.callback_query for u in updates if u.callback_query]
    assert [q.data for q in queries] == ["forged", "o1"]
    assert queries[0].message.message_id == message.message_id
    assert not queries[1].message.is_accessible


async def test_unconfirmed_update_is_redelivered_to_a_new_poller(tg: FakeTelegram):
    anna = tg.user(1001, "Anna")
    first = tg.push_text(anna, "een")
    async with Bot(tg.token, base_url=tg.base_url) as crashed_bot:
        updates = await crashed_bot.get_updates(timeout=0)
        assert [u.update_id for u in updates] == [first]
    await tg.wait_delivered(first)
    # The first poller died without confirming; a new one gets the update again.
    async with make_bot(tg) as new_bot:
        again = await new_bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [first]
        second = tg.push_text(anna, "twee")
        # offset confirms everything below it.
        confirmed = await new_bot.get_updates(offset=first + 1, timeout=0)
        assert [u.update_id for u in confirmed] == [second]
        await new_bot.get_updates(offset=second + 1, timeout=0)
    async with make_bot(tg) as third_bot:
        assert await third_bot.get_updates(timeout=0) == ()


async def test_limit_and_negative_offset(tg: FakeTelegram, bot: Bot):
    anna = tg.user(1001, "Anna")
    ids = [tg.push_text(anna, str(n)) for n in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-2)] == ids[-2:]
    # A negative offset forgets everything before the last updates.
    assert [u.update_id for u in await bot.get_updates()] == ids[-2:]


async def test_long_poll_returns_as_soon_as_an_update_is_pushed(tg: FakeTelegram, bot: Bot):
    anna = tg.user(1001, "Anna")
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    update_id = tg.push_text(anna, "nu")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [update_id]
    assert loop.time() - started < 2
    await tg.wait_delivered(update_id)


async def test_a_newer_poll_ends_an_older_one_with_conflict(tg: FakeTelegram, bot: Bot):
    older = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    async with make_bot(tg) as other:
        await other.get_updates(timeout=0)
    with pytest.raises(Conflict, match=r"terminated by other getUpdates"):
        await asyncio.wait_for(older, 5)


async def test_updates_sent_while_the_bot_restarts_are_not_dropped(tg: FakeTelegram, echo_app):
    anna = tg.user(1001, "Anna")
    async with polling(echo_app(tg)):
        tg.push_text(anna, "voor")
        await tg.wait_for_message(anna.id)
    # Pushed while no bot is running.
    tg.push_text(anna, "tijdens")
    async with polling(echo_app(tg)):
        reply = await tg.wait_for_message(anna.id, after_message_id=tg.last_message_id(anna.id))
    assert reply.text == "Je zei: tijdens"
    assert [m.text for m in tg.messages(anna.id)] == ["Je zei: voor", "Je zei: tijdens"]
    tg.assert_no_errors()


async def test_application_builder_helper(tg: FakeTelegram):
    app = application_builder(tg).build()
    assert app.bot.base_url == f"{tg.base_url}{tg.token}"
    async with polling(app):
        assert app.bot.username == tg.bot_username


async def test_wait_for_message_timeout_explains(tg: FakeTelegram):
    with pytest.raises(WaitTimeout, match=r"waiting for a bot message in chat 5"):
        await tg.wait_for_message(5, timeout=0.05)


async def test_wait_for_call_returns_each_call_once(tg: FakeTelegram, bot: Bot):
    anna = tg.user(1001, "Anna")
    tg.push_text(anna, "hi")
    await bot.send_message(anna.id, "een")
    await bot.send_message(anna.id, "twee")
    first = await tg.wait_for_call("sendMessage")
    second = await tg.wait_for_call("sendmessage")
    assert (first.params["text"], second.params["text"]) == ("een", "twee")
    with pytest.raises(WaitTimeout):
        await tg.wait_for_call("sendMessage", timeout=0.05)
    late = asyncio.create_task(
        tg.wait_for_call("sendMessage", lambda call: call.params["text"] == "drie")
    )
    await asyncio.sleep(0)
    await bot.send_message(anna.id, "drie")
    assert (await late).params["text"] == "drie"
