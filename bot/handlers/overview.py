"""/overzicht: every pair a coordinator runs, most in need of attention first, with its risk
flags; filters by city and phase, pages, and one pair in detail, all in the same message.

Read-only: nothing here changes anything, so every step runs in `reading`. The buttons of
the detail view (manage, log, message, group) belong to the features that handle them.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    reading,
    send,
    show_pressed,
)
from bot.menus import aliases
from bot.services import auth
from bot.services import overview as service
from bot.ui import overview as ui
from bot.ui.callbacks import OVERVIEW_DETAIL_PREFIX, OVERVIEW_PREFIX, action_pattern
from bot.ui.replies import Reply

# What may follow /overzicht: nothing (the coordinator's own pairs) or "alle" / "all".
ALL_WORDS = ("alle", "all")


async def _overview(uow: Unit, page: ui.Page) -> Reply:
    """The page of the overview, or why there is nothing to show."""
    now = uow.app.clock.now()
    found = await service.listing(
        uow.session, uow.user, now=now, programmes=uow.app.programmes, scope=page.scope
    )
    if not found.ranks and page.scope == "mine" and await service.any_running(uow.session):
        return Reply("overview.none_mine")
    return ui.overview(uow.app.texts, uow.lang, found, page)


async def overview(update: Update, context: Context) -> None:
    """Show the coordinator's pairs (or, with "alle", every running pair), riskiest first."""
    args = [a.lower() for a in context.args or []]
    async with reading(update, context) as uow:
        lang = uow.lang
        if args and (len(args) > 1 or args[0] not in ALL_WORDS):
            reply = Reply("overview.usage")
        else:
            try:
                reply = await _overview(uow, ui.Page(scope="all" if args else "mine"))
            except auth.NotAllowed as refusal:
                reply = Reply(refusal.key)
    await send(update, context, lang, [reply])


async def page_pressed(update: Update, context: Context) -> None:
    """A filter, 'Meer…', 'Vorige' or 'Terug naar overzicht': that page in the same message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    page = ui.parse_page(query.data.removeprefix(OVERVIEW_PREFIX))
    async with reading(update, context) as uow:
        lang = uow.lang
        try:
            reply: Reply | None = await _overview(uow, page)
        except auth.NotAllowed:
            reply = None
    if reply is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await show_pressed(update, context, lang, reply)


async def detail_pressed(update: Update, context: Context) -> None:
    """A pair's button: everything about it, in the same message, with a way back."""
    query = update.callback_query
    assert query is not None and query.data is not None
    exchange_id, page = ui.parse_detail(query.data)
    async with reading(update, context) as uow:
        lang = uow.lang
        reply: Reply | None = None
        if exchange_id is not None:
            try:
                found = await service.detail(
                    uow.session,
                    uow.user,
                    exchange_id,
                    uow.app.clock.now(),
                    uow.app.programmes,
                )
            except auth.NotAllowed:
                reply = None
            else:
                reply = ui.detail_view(uow.app.texts, lang, found, page)
    if reply is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await show_pressed(update, context, lang, reply)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("overzicht"), overview))
    app.add_handler(CallbackQueryHandler(page_pressed, pattern=action_pattern(OVERVIEW_PREFIX)))
    app.add_handler(
        CallbackQueryHandler(detail_pressed, pattern=action_pattern(OVERVIEW_DETAIL_PREFIX))
    )
