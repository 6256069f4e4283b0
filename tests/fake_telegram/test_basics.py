"""Protocol basics: URLs, tokens, parameter encodings, the errors list, lifecycle."""

import asyncio

import httpx
import pytest
from telegram import Bot
from telegram.error import EndPointNotFound, InvalidToken

from fake_telegram import FakeTelegram


async def test_get_me(bot: Bot, tg: FakeTelegram):
    me = await bot.get_me()
    assert me.id == tg.bot_id
    assert me.is_bot
    assert me.username == tg.bot_username == "wijkbot_test_bot"
    assert tg.calls[-1].method == "getMe"
    assert tg.calls[-1].ok
    tg.assert_no_errors()


async def test_base_urls_use_the_chosen_port(tg: FakeTelegram):
    assert tg.port > 0
    assert tg.base_url == f"http://127.0.0.1:{tg.port}/bot"
    assert tg.base_file_url == f"http://127.0.0.1:{tg.port}/file/bot"


async def test_base_url_before_start_is_an_error():
    with pytest.raises(RuntimeError):
        _ = FakeTelegram().base_url


async def test_wrong_token_is_unauthorized(tg: FakeTelegram):
    bot = Bot("999:WRONG", base_url=tg.base_url, base_file_url=tg.base_file_url)
    with pytest.raises(InvalidToken):
        await bot.initialize()
    await bot.shutdown()
    assert tg.calls[-1].status == 401
    assert tg.calls[-1].error == "Unauthorized"
    tg.assert_no_errors()


async def test_unknown_method_fails_loudly(bot: Bot, tg: FakeTelegram, caplog):
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": 1})
    assert tg.calls[-1].status == 404
    assert tg.errors == ["unknown Bot API method 'sendTeleportation'"]
    assert "sendTeleportation" in caplog.text
    with pytest.raises(AssertionError, match=r"sendTeleportation"):
        tg.assert_no_errors()


async def test_unexpected_path_is_recorded(tg: FakeTelegram):
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{tg.url}/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert tg.errors and "/nothing/here" in tg.errors[0]


async def test_method_names_are_case_insensitive_and_all_encodings_decode(tg: FakeTelegram):
    user = tg.user(7)
    tg.push_text(user, "hi")
    url = f"{tg.base_url}{tg.token}"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    async with httpx.AsyncClient() as client:
        as_query = await client.get(f"{url}/SENDMESSAGE", params={"chat_id": "7", "text": "q"})
        as_form = await client.post(
            f"{url}/sendmessage", data={"chat_id": "7", "text": "f", "reply_markup": markup}
        )
        as_json = await client.post(
            f"{url}/sendMessage",
            json={
                "chat_id": 7,
                "text": "j",
                "reply_markup": {"inline_keyboard": [[{"text": "B", "callback_data": "b"}]]},
            },
        )
        as_multipart = await client.post(
            f"{url}/sendMessage",
            data={"chat_id": "7", "text": "m", "reply_markup": markup},
            files={"unused": ("x.txt", b"x", "text/plain")},
        )
    for response in (as_query, as_form, as_json, as_multipart):
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
    assert [m.text for m in tg.messages(7)] == ["q", "f", "j", "m"]
    assert [m.button_texts for m in tg.messages(7)] == [[], ["A"], ["B"], ["A"]]
    assert all(call.method == "sendMessage" for call in tg.calls)
    assert tg.calls[1].params["chat_id"] == 7
    assert tg.calls[1].params["reply_markup"] == {
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]
    }


async def test_error_envelope_matches_telegram(tg: FakeTelegram):
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{tg.base_url}{tg.token}/sendMessage", data={"text": "x"})
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat_id is empty",
    }


async def test_stop_releases_a_waiting_long_poll():
    tg = FakeTelegram()
    await tg.start()
    bot = Bot(tg.token, base_url=tg.base_url)
    await bot.initialize()
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
        await tg.wait_for_call("getMe")
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await tg.stop()
        assert loop.time() - started < 1.0
        assert await asyncio.wait_for(poll, 2) == ()
    finally:
        await bot.shutdown()


async def test_reset_forgets_state_but_keeps_users(bot: Bot, tg: FakeTelegram):
    user = tg.user(5, "Bram")
    tg.push_text(user, "hallo")
    await bot.send_message(5, "antwoord")
    tg.fail_next("sendMessage")
    tg.reset()
    assert tg.calls == []
    assert tg.messages(5) == []
    assert await bot.get_updates() == ()
    # The fault is gone and the chat is still known.
    message = await bot.send_message(5, "weer")
    assert message.message_id > 2
    assert tg.last_message(5).text == "weer"
