"""Fault injection: errors, flood control, delays, blocked users."""

import asyncio

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from fake_telegram import FakeTelegram, polling


@pytest.fixture
def anna(tg: FakeTelegram):
    user = tg.user(3003, "Anna")
    tg.open_chat(user)
    return user


# PTB itself warns about the future type of RetryAfter.retry_after when building the error.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_raises_retry_after(bot: Bot, tg: FakeTelegram, anna):
    tg.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(anna.id, "hallo")
    assert "Retry in 3" in str(raised.value)
    call = tg.calls[-1]
    assert (call.method, call.ok, call.status) == ("sendMessage", False, 429)
    assert call.error == "Too Many Requests: retry after 3"
    # Only the next call fails.
    await bot.send_message(anna.id, "hallo")
    assert [m.text for m in tg.messages(anna.id)] == ["hallo"]


async def test_server_error_and_times(bot: Bot, tg: FakeTelegram, anna):
    tg.fail_next("SENDMESSAGE", times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match=r"Internal Server Error"):
            await bot.send_message(anna.id, "x")
    await bot.send_message(anna.id, "x")
    assert [c.status for c in tg.calls_to("sendMessage")] == [500, 500, 200]


async def test_custom_error_description(bot: Bot, tg: FakeTelegram, anna):
    tg.fail_next("sendMessage", status=400, description="Bad Request: have no rights")
    with pytest.raises(BadRequest, match=r"(?i)have no rights"):
        await bot.send_message(anna.id, "x")


async def test_fault_for_unknown_method_is_rejected(tg: FakeTelegram):
    with pytest.raises(ValueError, match=r"sendTelegram"):
        tg.fail_next("sendTelegram")
    with pytest.raises(ValueError):
        tg.delay_next("sendMessage", 1, times=0)


async def test_delay(bot: Bot, tg: FakeTelegram, anna):
    tg.delay_next("sendMessage", 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bot.send_message(anna.id, "traag")
    assert loop.time() - started >= 0.2
    assert tg.calls[-1].duration >= 0.2
    started = loop.time()
    await bot.send_message(anna.id, "snel")
    assert loop.time() - started < 0.2


async def test_delay_then_fail(bot: Bot, tg: FakeTelegram, anna):
    tg.delay_next("sendMessage", 0.05)
    tg.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match=r"Bad Gateway"):
        await bot.send_message(anna.id, "x")
    assert tg.calls[-1].duration >= 0.05


async def test_blocked_user(bot: Bot, tg: FakeTelegram, anna):
    sent = await bot.send_message(anna.id, "voor de blokkade")
    tg.block_user(anna.id)
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(anna.id, "na de blokkade")
    with pytest.raises(Forbidden):
        await bot.send_document(anna.id, b"x", filename="x.txt")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("ander", anna.id, sent.message_id)
    with pytest.raises(Forbidden):
        await bot.send_chat_action(anna.id, "typing")
    tg.unblock_user(anna.id)
    await bot.send_message(anna.id, "weer terug")


async def test_block_user_that_never_wrote(bot: Bot, tg: FakeTelegram):
    tg.block_user(777)
    with pytest.raises(Forbidden):
        await bot.send_message(777, "hallo")


async def test_polling_survives_get_updates_failures(tg: FakeTelegram, anna, echo_app):
    # One failure only: PTB backs off between retries (0.5 s, then longer).
    tg.fail_next("getUpdates", status=502)
    async with polling(echo_app(tg)):
        tg.push_text(anna, "hallo")
        reply = await tg.wait_for_message(anna.id, timeout=10)
    assert reply.text == "Je zei: hallo"
    assert tg.calls_to("getUpdates")[0].status == 502


async def test_outage_and_recovery_on_the_same_port(tg: FakeTelegram, anna, echo_app):
    async with polling(echo_app(tg)):
        tg.push_text(anna, "een")
        await tg.wait_for_message(anna.id)
        port = tg.port
        await tg.stop()
        tg.push_text(anna, "twee")
        await asyncio.sleep(0.1)
        await tg.start()
        assert tg.port == port
        reply = await tg.wait_for_message(anna.id, after_message_id=tg.last_message_id(anna.id))
    assert reply.text == "Je zei: twee"


async def test_a_slow_answer_still_delivers_after_the_client_gave_up(
    bot: Bot, tg: FakeTelegram, anna
):
    tg.delay_next("sendMessage", 0.3)
    with pytest.raises(TimedOut):
        await bot.send_message(anna.id, "traag", read_timeout=0.05)
    call = await tg.wait_for_call("sendMessage")
    assert call.ok
    assert [m.text for m in tg.messages(anna.id)] == ["traag"]


async def test_dropped_connection_after_the_message_was_stored(bot: Bot, tg: FakeTelegram, anna):
    tg.drop_next("sendMessage")
    with pytest.raises(NetworkError) as raised:
        await bot.send_message(anna.id, "weg?")
    assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
    assert [m.text for m in tg.messages(anna.id)] == ["weg?"]
    # Only the next call: the following one is answered.
    await bot.send_message(anna.id, "weer goed")
    assert [m.text for m in tg.messages(anna.id)] == ["weg?", "weer goed"]


async def test_a_fault_for_one_chat_leaves_others_alone(bot: Bot, tg: FakeTelegram, anna):
    bert = tg.user(3004, "Bert")
    tg.open_chat(bert)
    tg.fail_next("sendMessage", status=500, chat_id=bert.id)
    await bot.send_message(anna.id, "voor Anna")
    with pytest.raises(NetworkError):
        await bot.send_message(bert.id, "voor Bert")
    await bot.send_message(bert.id, "voor Bert")
    assert [m.text for m in tg.messages(bert.id)] == ["voor Bert"]


async def test_lengths_are_utf16_units_after_parsing(bot: Bot, tg: FakeTelegram, anna):
    # 600 emoji are 600 characters but 1,200 UTF-16 units: too long for a caption.
    photo = tg.photo_file_id()
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(anna.id, photo, caption="🦆" * 600)
    # Tags and entities do not count: 1,024 visible units in bold fit.
    await bot.send_photo(anna.id, photo, caption="<b>" + "&amp;" * 1024 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(anna.id, "😀" * 2049)
    await bot.send_message(anna.id, "<i>" + "x" * 4096 + "</i>", parse_mode="HTML")
