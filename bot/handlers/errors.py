"""The one error handler: log with context, tell the user kindly, alert coordinators."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.context import BotApplication, app_context
from bot.delivery import deliver
from bot.handlers.common import Context
from bot.services.users import coordinators
from db.models import User

log = logging.getLogger(__name__)
ALERT_INTERVAL = timedelta(minutes=1)


def _describe(update: object) -> str:
    if isinstance(update, Update):
        kind = "callback" if update.callback_query else "message" if update.message else "update"
        user = update.effective_user.id if update.effective_user else "-"
        return f"update {update.update_id} ({kind}) from user {user}"
    return repr(type(update).__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the error, apologise to the user, and alert coordinators at most once a minute."""
    error = context.error
    log.error("Error while handling %s", _describe(update), exc_info=error)
    app = app_context(context)
    lang = app.settings.default_language
    user_id: int | None = None
    if isinstance(update, Update) and update.effective_user is not None:
        user_id = update.effective_user.id
        try:
            async with app.db.read() as session:
                user = await session.get(User, user_id)
                if user is not None:
                    lang = user.language
        except Exception:  # the database itself may be what failed
            log.exception("Could not read the user's language")
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await deliver(
                context.bot, update.effective_chat.id, app.texts.get(lang, "errors.sorry")
            )
        except TelegramError:
            log.warning("Could not tell user %s about the error", user_id)
    now = app.clock.now()
    if app.last_error_alert is not None and now - app.last_error_alert < ALERT_INTERVAL:
        return
    app.last_error_alert = now
    try:
        async with app.db.read() as session:
            targets = [(c.id, c.language) for c in await coordinators(session)]
    except Exception:
        log.exception("Could not read coordinators for an error alert")
        targets = [(cid, lang) for cid in app.settings.coordinator_ids]
    for coordinator_id, coordinator_lang in targets:
        if coordinator_id == user_id:
            continue
        try:
            await deliver(
                context.bot,
                coordinator_id,
                app.texts.get(
                    coordinator_lang,
                    "errors.alert",
                    error=type(error).__name__,
                    where=_describe(update),
                ),
            )
        except Forbidden:
            log.info("Coordinator %s has blocked the bot", coordinator_id)
        except TelegramError:
            log.warning("Could not alert coordinator %s", coordinator_id)


def register(app: BotApplication) -> None:
    app.add_error_handler(on_error)
