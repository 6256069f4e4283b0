"""/agenda: an exchange's dates as a calendar file (.ics)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.domain.permissions import Action
from bot.handlers.common import Context, Unit, exchange_button, exchange_command
from bot.menus import aliases
from bot.ui import views
from bot.ui.callbacks import CALENDAR_PREFIX, action_pattern
from bot.ui.replies import Attachment, Reply
from db.models import Exchange


async def _calendar(uow: Unit, exchange: Exchange) -> list[Reply]:
    app = uow.app
    content = views.calendar(
        app.texts,
        uow.lang,
        exchange,
        app.programmes[exchange.programme_key],
        tz=app.settings.tz,
        stamp=app.clock.now(),
    )
    attachment = Attachment(f"uitwisseling-{exchange.id}.ics", content)
    return [Reply("calendar.caption", {"id": exchange.id}, attachment=attachment)]


async def calendar(update: Update, context: Context) -> None:
    """Send the exchange's dates as a calendar file (choose the exchange if several)."""
    await exchange_command(
        update, context, prefix=CALENDAR_PREFIX, choose_key="calendar.choose", view=_calendar
    )


async def calendar_chosen(update: Update, context: Context) -> None:
    """Send the calendar of the exchange whose button was pressed."""
    await exchange_button(
        update, context, prefix=CALENDAR_PREFIX, action=Action.VIEW_EXCHANGE, view=_calendar
    )


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("agenda"), calendar))
    app.add_handler(CallbackQueryHandler(calendar_chosen, pattern=action_pattern(CALENDAR_PREFIX)))
