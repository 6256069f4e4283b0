"""The bot's transport (bot/request.py) under python-telegram-bot's own `Bot`: answers, files,
and each kind of failure as python-telegram-bot reports it, with whether Telegram may have
acted on the call all the same (`delivery.outcome_unknown`)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.delivery import outcome_unknown
from bot.request import AiohttpRequest
from fake_telegram import FakeTelegram

TOKEN = "123456:TEST-TOKEN"


def _bot(base_url: str, *, read_timeout: float = 5.0) -> Bot:
    return Bot(
        TOKEN,
        base_url=base_url,
        request=AiohttpRequest(read_timeout=read_timeout, connect_timeout=1.0),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def test_messages_and_files_go_through(tg: FakeTelegram) -> None:
    user = tg.user(4101, "Els")
    tg.open_chat(user)
    async with _bot(tg.base_url) as bot:
        sent = await bot.send_message(user.id, "<b>Hallo</b> Els", parse_mode="HTML")
        document = await bot.send_document(
            user.id, b"a;b\n1;2\n", filename="lijst.csv", caption="De lijst"
        )
    assert sent.text == "Hallo Els"
    assert document.document is not None and document.document.file_name == "lijst.csv"
    assert [m.text or m.caption for m in tg.messages_since(user.id, 0)] == [
        "Hallo Els",
        "De lijst",
    ]


async def test_an_answer_that_does_not_come_in_time_may_have_been_delivered(
    tg: FakeTelegram,
) -> None:
    user = tg.user(4102, "Piet")
    tg.open_chat(user)
    async with _bot(tg.base_url, read_timeout=0.2) as bot:
        tg.delay_next("sendMessage", 1.0)
        with pytest.raises(TimedOut) as raised:
            await bot.send_message(user.id, "Hallo")
    assert outcome_unknown(raised.value)


async def test_a_connection_dropped_after_the_call_may_have_been_delivered(
    tg: FakeTelegram,
) -> None:
    user = tg.user(4103, "Anna")
    tg.open_chat(user)
    async with _bot(tg.base_url) as bot:
        tg.drop_next("sendMessage")
        with pytest.raises(NetworkError) as raised:
            await bot.send_message(user.id, "Hallo")
    assert outcome_unknown(raised.value)
    assert [m.text for m in tg.messages_since(user.id, 0)] == ["Hallo"]


async def test_no_connection_at_all_was_certainly_not_delivered() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    # Nothing listens on that port now: the connection is refused.
    request = AiohttpRequest(connect_timeout=1.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert not outcome_unknown(raised.value)


async def test_parameters_go_as_json_and_files_as_a_form() -> None:
    """A call without a file sends its parameters as a JSON body, with their types (an
    object stays an object, true stays true); a call with a file is a multipart form."""
    seen: list[tuple[str, Any]] = []

    async def answer(request: web.Request) -> web.Response:
        if request.match_info["method"] == "getMe":
            me = {"id": 1, "is_bot": True, "first_name": "Wijkbot", "username": "wijkbot"}
            return web.json_response({"ok": True, "result": me})
        if request.content_type == "application/json":
            seen.append((request.content_type, await request.json()))
        else:
            seen.append((request.content_type, sorted(await request.post())))
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    listening = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, listening).start()
    base_url = f"http://127.0.0.1:{listening.getsockname()[1]}/bot"
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Gedaan", callback_data="x:1")]])
    try:
        async with _bot(base_url) as bot:
            await bot.send_message(
                7, "Hé <b>daar</b>", reply_markup=markup, disable_notification=True
            )
            await bot.send_document(7, b"a;b\n", filename="lijst.csv")
    finally:
        await runner.cleanup()
    assert seen == [
        (
            "application/json",
            {
                "chat_id": 7,
                "text": "Hé <b>daar</b>",
                "reply_markup": markup.to_dict(),
                "disable_notification": True,
            },
        ),
        ("multipart/form-data", ["chat_id", "document"]),
    ]


async def test_a_request_used_before_it_is_opened_says_so() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/", "POST")
