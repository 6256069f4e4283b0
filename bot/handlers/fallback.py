"""What the bot does with everything no other handler took: typed answers, unknown input."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotApplication, app_context
from bot.dialogs.engine import conversation_of, current_dialog, dialog_text, peek_dialog
from bot.handlers.common import (
    Context,
    answer_callback,
    chat_id_of,
    reading,
    say,
    unit_of_work,
)


async def text(update: Update, context: Context) -> None:
    """Route a typed answer to the chat's conversation, or point to /help.

    Reading which conversation the chat is in writes nothing; the answer is taken in a unit
    of work of its own (bot/dialogs/engine.py). Only a conversation that has ended (lapsed,
    or its exchange archived) is deleted, in one write.
    """
    app = app_context(context)
    chat_id = chat_id_of(update)
    async with reading(update, context) as uow:
        lang = uow.lang
        dialog, ended = await peek_dialog(uow, chat_id)
        peeked = dict(dialog.data) if dialog else {}
    conversation = conversation_of(context, dialog.kind) if dialog else None
    if conversation is not None:
        await dialog_text(update, context, conversation, peeked)
        return
    if ended is not None:
        async with unit_of_work(update, context) as uow:
            await current_dialog(uow, chat_id)
    # A report left too long is dropped unsent; say so rather than ignore what was typed.
    key = f"fallback.lapsed_{ended}" if app.texts.has(f"fallback.lapsed_{ended}") else None
    await say(update, context, lang, key or "fallback.free_text")


async def unknown_command(update: Update, context: Context) -> None:
    """Answer a command the bot does not know."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await say(update, context, lang, "fallback.unknown_command")


async def other_message(update: Update, context: Context) -> None:
    """Answer stickers, photos and the like outside a conversation."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await say(update, context, lang, "fallback.other")


async def unknown_button(update: Update, context: Context) -> None:
    """A button whose data no handler knows (old or forged): say it has expired."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await answer_callback(update, context, lang, "common.button_expired")


def register(app: BotApplication) -> None:
    """Register last, in the default group: PTB runs the first matching handler of a group,
    so these only see updates that no feature handler matched."""
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, text))
    app.add_handler(
        MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, other_message)
    )
    app.add_handler(CallbackQueryHandler(unknown_button))
