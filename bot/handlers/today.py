"""/vandaag: today's schedule, or when the next exchange day is.

A teacher or begeleider gets the full day of each of their exchanges. A coordinator, who may
run a thousand pairs, gets a short list of the pairs with an exchange day today, a page at a
time, and a button per pair for its full day.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.domain.dates import format_date
from bot.domain.permissions import Action
from bot.handlers.common import Context, Unit, answer_callback, reading, send, show_pressed
from bot.menus import aliases
from bot.services import auth, exchanges, schools
from bot.services import today as service
from bot.texts import Markup
from bot.ui import today as ui
from bot.ui import views
from bot.ui.callbacks import TODAY_PREFIX, action_pattern
from bot.ui.replies import Reply
from db.models import Exchange


async def _full_days(uow: Unit, mine: Sequence[Exchange]) -> Markup:
    """The full day of each of `mine` with an exchange day today, or when the next one is."""
    app, day = uow.app, uow.app.today()
    contacts = await exchanges.contacts(uow.session, mine, day)
    # Numbers only for the exchanges with a day today: those are the ones shown.
    phones = {
        e.id: schools.phone_book(e, uow.user, contacts[e.id]) for e in mine if e.id in contacts
    }
    return views.today(
        app.texts, uow.lang, mine, app.programmes, contacts, day, viewer=uow.user, phones=phones
    )


async def _coordinator_page(uow: Unit, offset: int) -> Reply:
    app, day = uow.app, uow.app.today()
    found = await service.coordinator_day(uow.session, uow.user, app.programmes, day, offset)
    return ui.coordinator_view(
        app.texts, uow.lang, found, app.programmes, format_date(day, uow.lang)
    )


async def today(update: Update, context: Context) -> None:
    """Show today's schedule (a coordinator: today's pairs), or when the next exchange day is."""
    async with reading(update, context) as uow:
        lang = uow.lang
        if uow.user.is_coordinator:
            reply = await _coordinator_page(uow, 0)
        else:
            mine = await exchanges.visible_exchanges(uow.session, uow.user)
            reply = Reply("today.view", {"body": await _full_days(uow, mine)})
    await send(update, context, lang, [reply])


async def pressed(update: Update, context: Context) -> None:
    """A coordinator's /vandaag buttons: another page in the same message, or one pair's full
    day as a message of its own (the list stays, to pick the next)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    offset, exchange_id = ui.parse(query.data)
    async with reading(update, context) as uow:
        lang = uow.lang
        reply: Reply | None = None
        if offset is not None and uow.user.is_coordinator:
            reply = await _coordinator_page(uow, offset)
        elif exchange_id is not None and await auth.may(
            uow.session, uow.user, Action.VIEW_EXCHANGE, exchange_id
        ):
            exchange = await exchanges.load_exchange(uow.session, exchange_id)
            if exchange is not None:
                reply = Reply("today.view", {"body": await _full_days(uow, [exchange])})
    if reply is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    if offset is not None:
        await show_pressed(update, context, lang, reply)
    else:
        await send(update, context, lang, [reply])


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("vandaag"), today))
    app.add_handler(CallbackQueryHandler(pressed, pattern=action_pattern(TODAY_PREFIX)))
