"""Strict rate-limit mode: Telegram's flood limits answered with 429 and retry_after."""

import asyncio

import pytest
from telegram import Bot
from telegram.error import RetryAfter

from fake_telegram import FakeTelegram, make_bot
from fake_telegram.limits import RateLimits, busiest_second, closest_pair

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_off_by_default(bot: Bot, tg: FakeTelegram) -> None:
    anna = tg.user(3003, "Anna")
    tg.open_chat(anna)
    for _ in range(3):
        await bot.send_message(anna.id, "hallo")
    assert len(tg.messages(anna.id)) == 3
    assert tg.limits.log == []


async def test_a_second_message_to_one_chat_within_a_second_gets_429(
    bot: Bot, tg: FakeTelegram
) -> None:
    tg.enforce_limits()
    anna = tg.user(3003, "Anna")
    tg.open_chat(anna)
    await bot.send_message(anna.id, "een")
    with pytest.raises(RetryAfter, match="Retry in 1"):
        await bot.send_message(anna.id, "twee")
    call = tg.calls[-1]
    assert (call.status, call.error) == (429, "Too Many Requests: retry after 1")
    assert [m.text for m in tg.messages(anna.id)] == ["een"]
    await asyncio.sleep(1.05)
    await bot.send_message(anna.id, "twee")
    assert [m.text for m in tg.messages(anna.id)] == ["een", "twee"]
    assert [c.allowed for c in tg.limits.log] == [True, False, True]


async def test_a_burst_over_30_a_second_gets_429s() -> None:
    async with FakeTelegram(strict_limits=True) as strict:
        async with make_bot(strict) as client:
            users = [strict.user(5000 + n, f"U{n}") for n in range(40)]
            for u in users:
                strict.open_chat(u)
            results = await asyncio.gather(
                *(client.send_message(u.id, "x") for u in users), return_exceptions=True
            )
        refused = [r for r in results if isinstance(r, RetryAfter)]
        assert len(refused) == 10
        assert len(strict.limits.allowed()) == 30
        assert busiest_second([c.at for c in strict.limits.allowed()]) == 30


def test_a_group_gets_20_a_minute() -> None:
    limits = RateLimits()
    group = -100123
    for n in range(20):
        assert limits.admit("sendMessage", group, 100.0 + n * 1.5) is None
    wait = limits.admit("sendMessage", group, 131.0)
    assert wait == 29  # the first of the twenty leaves the minute at 160.0
    assert limits.admit("sendMessage", group, 160.0) is None
    # Other calls do not count.
    assert limits.admit("getUpdates", None, 160.0) is None
    assert limits.admit("answerCallbackQuery", 5, 160.0) is None


def test_helpers() -> None:
    assert busiest_second([0.0, 0.5, 0.99, 1.0, 1.2]) == 4
    assert closest_pair([3.0, 1.0, 1.4]) == pytest.approx(0.4)
    assert closest_pair([1.0]) == float("inf")
