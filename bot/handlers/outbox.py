"""/berichten: for coordinators, what the outbox holds, sent and could not deliver."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotApplication
from bot.domain.permissions import Action
from bot.handlers.common import Context, reading, send
from bot.menus import aliases
from bot.services import auth, outbox
from bot.ui import views
from bot.ui.replies import Reply


async def messages_status(update: Update, context: Context) -> None:
    """Coordinators: how many pushes wait, went out or failed, and the latest failures."""
    async with reading(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.VIEW_OUTBOX)
        except auth.NotAllowed:
            replies = [Reply("auth.not_allowed")]
        else:
            counts = await outbox.counts(uow.session)
            failures = await outbox.not_delivered(uow.session)
            body = views.outbox_status(
                uow.app.texts,
                lang,
                counts,
                failures,
                tz=uow.app.settings.tz,
                uncertain=await outbox.uncertain_count(uow.session),
            )
            replies = [Reply("outbox.view", {"body": body})]
    await send(update, context, lang, replies)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("berichten"), messages_status))
