"""/vandaag (today's schedule), /agenda (an .ics calendar) and /berichten (outbox status)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.domain.permissions import Action
from bot.handlers.common import Context, Unit, exchange_button, exchange_command, reading, send
from bot.menus import aliases
from bot.services import agreements, auth, exchanges, outbox
from bot.ui import views
from bot.ui.callbacks import CALENDAR_PREFIX, action_pattern
from bot.ui.replies import Attachment, Reply
from db.models import Exchange


async def today(update: Update, context: Context) -> None:
    """Show today's schedule, or when the next exchange day is."""
    async with reading(update, context) as uow:
        lang = uow.lang
        app, day = uow.app, uow.app.today()
        mine = await exchanges.visible_exchanges(uow.session, uow.user)
        contacts = await agreements.contacts(uow.session, mine, day)
        body = views.today(app.texts, lang, mine, app.programmes, contacts, day)
    await send(update, context, lang, [Reply("today.view", {"body": body})])


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
    app.add_handler(CommandHandler(aliases("vandaag"), today))
    app.add_handler(CommandHandler(aliases("agenda"), calendar))
    app.add_handler(CommandHandler(aliases("berichten"), messages_status))
    app.add_handler(CallbackQueryHandler(calendar_chosen, pattern=action_pattern(CALENDAR_PREFIX)))
