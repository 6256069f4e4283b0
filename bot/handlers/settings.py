"""/instellingen: a coordinator's own choices, switched with a button that edits the message."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication, app_context
from bot.handlers.common import (
    Context,
    answer_callback,
    clear_buttons,
    edit_pressed,
    reading,
    send,
    unit_of_work,
)
from bot.menus import aliases
from bot.services import auth, coordinator_settings
from bot.ui import replies as render
from bot.ui import summary as summary_texts
from bot.ui.callbacks import SETTINGS_PREFIX, action_pattern
from bot.ui.replies import Reply


async def show(update: Update, context: Context) -> None:
    """Show a coordinator's settings, with the button that changes them."""
    async with reading(update, context) as uow:
        lang = uow.lang
        try:
            current = await coordinator_settings.settings_of(uow.session, uow.user)
        except auth.NotAllowed as refusal:
            replies = [Reply(refusal.key)]
        else:
            replies = [summary_texts.settings(current)]
    await send(update, context, lang, replies)


async def chosen(update: Update, context: Context) -> None:
    """Gather routine notices into the Monday summary, or send them at once again."""
    query = update.callback_query
    assert query is not None and query.data is not None
    gather = summary_texts.parse_gather(query.data)
    if gather is None:
        async with reading(update, context) as uow:
            lang = uow.lang
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            current = await coordinator_settings.set_gather_notices(uow.session, uow.user, gather)
        except auth.NotAllowed:
            current = None
    if current is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        await clear_buttons(update, context)
        return
    saved = "settings.saved_gather" if current.gather_notices else "settings.saved_immediate"
    await answer_callback(update, context, lang, saved)
    app = app_context(context)
    reply = summary_texts.settings(current)
    await edit_pressed(
        update,
        context,
        text=render.text(app.texts, lang, reply),
        reply_markup=render.keyboard(app.texts, lang, reply.buttons),
    )


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("instellingen"), show))
    app.add_handler(CallbackQueryHandler(chosen, pattern=action_pattern(SETTINGS_PREFIX)))
