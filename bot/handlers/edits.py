"""Edited messages are not new input: they get one short answer and nothing else.

PTB hands `edited_message` updates to CommandHandler and MessageHandler like new messages, so
editing `/aanwezig 24 22` into `24 21` would record another count, and an edited answer in a
conversation would be taken as the answer to the next question. This handler runs in a group
before every other handler and stops the update there.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from bot.context import BotApplication, app_context
from bot.handlers.common import Context, say
from bot.services.users import language_of

# Before group 0, where every feature handler lives.
GROUP = -1


async def edited(update: Update, context: Context) -> None:
    """Say that edits are not read, and let no other handler see the edit."""
    app = app_context(context)
    lang = app.settings.default_language
    user = update.effective_user
    if user is not None:
        # Read-only: an edit changes nothing, so it opens no write transaction.
        async with app.db.read() as session:
            lang = await language_of(session, user.id, default=lang)
    if update.effective_chat is not None and update.effective_chat.type == "private":
        await say(update, context, lang, "edits.not_read")
    raise ApplicationHandlerStop


def register(app: BotApplication) -> None:
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, edited), group=GROUP)
