"""/berichten: for coordinators, what the outbox holds, sent and could not deliver, per pair and
per person, with a button to send a failed message again."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.domain.permissions import Action
from bot.handlers.common import (
    Context,
    answer_callback,
    reading,
    send,
    unit_of_work,
)
from bot.jobs.outbox import kick
from bot.menus import aliases
from bot.services import auth, broadcasts, outbox
from bot.texts import Markup
from bot.ui import broadcasts as broadcast_texts
from bot.ui import views
from bot.ui.callbacks import RETRY_PREFIX, action_pattern, button_id
from bot.ui.replies import Reply


async def messages_status(update: Update, context: Context) -> None:
    """Coordinators: how many pushes wait, went out or failed, and what did not arrive."""
    async with reading(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.VIEW_OUTBOX)
        except auth.NotAllowed:
            replies = [Reply("auth.not_allowed")]
        else:
            app = uow.app
            counts = await outbox.counts(uow.session)
            failures = await outbox.not_delivered(uow.session)
            body = views.outbox_status(
                app.texts,
                lang,
                counts,
                failures,
                tz=app.settings.tz,
                uncertain=await outbox.uncertain_count(uow.session),
            )
            per_pair, buttons = broadcast_texts.failures_view(
                app.texts, lang, await broadcasts.failures(uow.session), tz=app.settings.tz
            )
            full = f"{body}\n\n{per_pair}" if per_pair else body
            replies = [Reply("outbox.view", {"body": Markup(full)}, buttons=buttons)]
    await send(update, context, lang, replies)


async def retry(update: Update, context: Context) -> None:
    """ "🔁 Opnieuw" under /berichten: a failed message goes back in the queue, once."""
    query = update.callback_query
    assert query is not None and query.data is not None
    row_id = button_id(query.data, RETRY_PREFIX)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            outcome = (
                await broadcasts.retry(uow.session, uow.user, row_id, now=uow.app.clock.now())
                if row_id is not None
                else broadcasts.GONE
            )
        except auth.NotAllowed:
            outcome = None
    key = "auth.not_allowed" if outcome is None else f"broadcast.retry_{outcome}"
    await answer_callback(update, context, lang, key)
    if outcome == broadcasts.QUEUED:
        kick(context.application)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("berichten"), messages_status))
    app.add_handler(CallbackQueryHandler(retry, pattern=action_pattern(RETRY_PREFIX)))
