"""/annuleren: stop the conversation in progress."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotApplication
from bot.dialogs import store
from bot.handlers.common import Context, chat_id_of, reading, send, unit_of_work
from bot.menus import aliases
from bot.ui.replies import Reply


async def cancel(update: Update, context: Context) -> None:
    """Stop the conversation in progress; nothing of it is saved."""
    chat_id = chat_id_of(update)
    # Looked up first in a read: with nothing to cancel, nothing is written.
    async with reading(update, context) as uow:
        lang = uow.lang
        had = await store.exists(uow.session, chat_id)
    if had:
        async with unit_of_work(update, context) as uow:
            had = await store.finish(uow.session, chat_id)
    key = "common.cancelled" if had else "common.nothing_to_cancel"
    await send(update, context, lang, [Reply(key)])


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("annuleren"), cancel))
