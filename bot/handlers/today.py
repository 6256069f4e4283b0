"""/vandaag (today's schedule), /agenda (an .ics calendar) and /berichten (outbox status)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import presenters
from bot.context import app_context
from bot.domain.permissions import Action
from bot.handlers.common import Context, send, unit_of_work
from bot.menus import aliases
from bot.replies import Btn, Reply, rows
from bot.services import auth, exchanges, outbox

CALENDAR_PREFIX = "ag:"
MAX_CHOICE_BUTTONS = 30


async def today(update: Update, context: Context) -> None:
    """Show today's schedule, or when the next exchange day is."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        mine = await exchanges.visible_exchanges(uow.session, uow.user)
        body = await presenters.today(uow.session, uow.app, lang, list(mine), uow.app.today())
    await send(update, context, lang, [Reply("today.view", {"body": body})])


async def _send_calendar(update: Update, context: Context, exchange_id: int) -> None:
    app = app_context(context)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require_exchange(uow.session, uow.user, Action.VIEW_EXCHANGE, exchange_id)
        except auth.NotAllowed:
            calendar = None
        else:
            exchange = await exchanges.load_exchange(uow.session, exchange_id)
            assert exchange is not None
            calendar = presenters.calendar(
                app.texts,
                lang,
                exchange,
                app.programmes[exchange.programme_key],
                tz=app.settings.tz,
                stamp=app.clock.now(),
            )
    chat = update.effective_chat
    assert chat is not None
    if calendar is None:
        await send(update, context, lang, [Reply("auth.not_allowed")])
        return
    await context.bot.send_document(
        chat.id,
        calendar,
        filename=f"uitwisseling-{exchange_id}.ics",
        caption=app.texts.get(lang, "calendar.caption", id=exchange_id),
    )


async def calendar(update: Update, context: Context) -> None:
    """Send the exchange's dates as a calendar file (choose the exchange if several)."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        mine = list(await exchanges.visible_exchanges(uow.session, uow.user))
    if len(mine) == 1:
        await _send_calendar(update, context, mine[0].id)
        return
    if not mine:
        await send(update, context, lang, [Reply("programme.none")])
        return
    buttons = [
        Btn(f"{CALENDAR_PREFIX}{e.id}", label=f"#{e.id} {exchanges.title(e)}")
        for e in mine[:MAX_CHOICE_BUTTONS]
    ]
    await send(
        update,
        context,
        lang,
        [Reply("calendar.choose", {"count": len(mine)}, buttons=rows(buttons, 1))],
    )


async def calendar_chosen(update: Update, context: Context) -> None:
    """Send the calendar of the exchange whose button was pressed."""
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.removeprefix(CALENDAR_PREFIX)
    await query.answer()
    if raw.isdigit():
        await _send_calendar(update, context, int(raw))
    else:
        await send(
            update,
            context,
            app_context(context).settings.default_language,
            [Reply("common.button_expired")],
        )


async def messages_status(update: Update, context: Context) -> None:
    """Coordinators: how many pushes wait, went out or failed, and the latest failures."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.VIEW_OUTBOX)
        except auth.NotAllowed:
            replies = [Reply("auth.not_allowed")]
        else:
            counts = await outbox.counts(uow.session)
            failures = await outbox.recent_failures(uow.session)
            body = presenters.outbox_status(
                uow.app.texts, lang, counts, failures, tz=uow.app.settings.tz
            )
            replies = [Reply("outbox.view", {"body": body})]
    await send(update, context, lang, replies)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler(aliases("vandaag"), today))
    app.add_handler(CommandHandler(aliases("agenda"), calendar))
    app.add_handler(CommandHandler(aliases("berichten"), messages_status))
    app.add_handler(CallbackQueryHandler(calendar_chosen, pattern=f"^{CALENDAR_PREFIX}"))
