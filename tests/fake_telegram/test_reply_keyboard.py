"""The reply keyboard a chat has: the latest one sent, until a message removes it."""

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from fake_telegram import FakeTelegram


async def test_a_reply_keyboard_stays_until_it_is_removed(bot: Bot, tg: FakeTelegram) -> None:
    chat = 501
    tg.push_text(tg.user(chat, "Ria"), "hoi")
    assert tg.reply_keyboard(chat) is None
    share = KeyboardButton("Share", request_location=True)
    await bot.send_message(chat, "Share?", reply_markup=ReplyKeyboardMarkup([[share]]))
    keyboard = tg.reply_keyboard(chat)
    assert keyboard is not None and keyboard["keyboard"][0][0]["request_location"] is True
    # Other messages, with inline buttons or none, leave it in place.
    await bot.send_message(chat, "Plain")
    inline = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
    await bot.send_message(chat, "Inline", reply_markup=inline)
    assert tg.reply_keyboard(chat) == keyboard
    await bot.send_message(chat, "Gone", reply_markup=ReplyKeyboardRemove())
    assert tg.reply_keyboard(chat) is None
    assert tg.reply_keyboard(999) is None  # a chat without messages has none
