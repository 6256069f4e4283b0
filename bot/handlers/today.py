"""/vandaag: today's schedule, or when the next exchange day is."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotApplication
from bot.handlers.common import Context, reading, send
from bot.menus import aliases
from bot.services import exchanges, schools
from bot.ui import views
from bot.ui.replies import Reply


async def today(update: Update, context: Context) -> None:
    """Show today's schedule, or when the next exchange day is."""
    async with reading(update, context) as uow:
        lang = uow.lang
        app, day = uow.app, uow.app.today()
        mine = await exchanges.visible_exchanges(uow.session, uow.user)
        contacts = await exchanges.contacts(uow.session, mine, day)
        # Numbers only for the exchanges with a day today: those are the ones shown.
        phones = {
            e.id: schools.phone_book(e, uow.user, contacts[e.id]) for e in mine if e.id in contacts
        }
        body = views.today(
            app.texts, lang, mine, app.programmes, contacts, day, viewer=uow.user, phones=phones
        )
    await send(update, context, lang, [Reply("today.view", {"body": body})])


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("vandaag"), today))
