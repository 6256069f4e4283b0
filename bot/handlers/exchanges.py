"""/programma (an exchange's timeline) and /archiveren."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.domain.numbers import read_id
from bot.domain.permissions import Action
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    clear_buttons,
    exchange_button,
    exchange_buttons,
    exchange_command,
    reading,
    send,
    unit_of_work,
)
from bot.menus import aliases
from bot.services import auth, checkins, exchanges, schools
from bot.ui import views
from bot.ui.callbacks import (
    ARCHIVE_PREFIX,
    PROGRAMME_PREFIX,
    action,
    action_pattern,
    button_id,
)
from bot.ui.replies import Btn, Reply
from db.models import Exchange


async def _timeline(uow: Unit, exchange: Exchange) -> list[Reply]:
    programme = uow.app.programmes[exchange.programme_key]
    reports = (
        await checkins.day_reports(uow.session, exchange.id) if uow.user.is_coordinator else []
    )
    coordinators = await exchanges.coordinators_of(uow.session, exchange)
    body = views.timeline(
        uow.app.texts,
        uow.lang,
        exchange,
        programme,
        viewer_id=uow.user.id,
        reports=reports,
        reader=schools.reader_of(exchange, uow.user),
        phones=schools.phone_book(exchange, uow.user, coordinators),
    )
    return [Reply("programme.view", {"body": body})]


async def programme(update: Update, context: Context) -> None:
    """Show the timeline of the user's exchange, or let them choose one; a coordinator with
    several sees every exchange in a list that marks those whose dates are still open."""
    overview: Reply | None = None
    async with reading(update, context) as uow:
        lang = uow.lang
        if uow.user.is_coordinator:
            mine = list(await exchanges.visible_exchanges(uow.session, uow.user))
            if len(mine) > 1:
                lines = views.overview(
                    uow.app.texts, lang, mine, uow.app.programmes, uow.app.today()
                )
                overview = Reply(
                    "programme.overview",
                    {"count": len(mine), "lines": lines},
                    buttons=exchange_buttons(PROGRAMME_PREFIX, mine),
                )
    if overview is None:
        await exchange_command(
            update, context, prefix=PROGRAMME_PREFIX, choose_key="programme.choose", view=_timeline
        )
        return
    await send(update, context, lang, [overview])


async def programme_chosen(update: Update, context: Context) -> None:
    """Show the exchange whose button was pressed, if the user may see it."""
    await exchange_button(
        update, context, prefix=PROGRAMME_PREFIX, action=Action.VIEW_EXCHANGE, view=_timeline
    )


async def archive(update: Update, context: Context) -> None:
    """Ask to archive a finished or cancelled exchange: `/archiveren 12`."""
    exchange_id = read_id(context.args[0].lstrip("#")) if context.args else None
    # Only asks: the button archives.
    async with reading(update, context) as uow:
        lang = uow.lang
        replies = [Reply("archive.usage")]
        if exchange_id is not None:
            try:
                exchange = await auth.require_exchange(
                    uow.session, uow.user, Action.ARCHIVE, exchange_id
                )
            except auth.NotAllowed:
                replies = [Reply("auth.not_allowed")]
            else:
                loaded = await exchanges.load_exchange(uow.session, exchange.id)
                assert loaded is not None
                confirm = Btn(action(ARCHIVE_PREFIX, exchange.id), key="archive.btn_confirm")
                replies = [
                    Reply(
                        "archive.confirm", {"label": exchanges.label(loaded)}, buttons=((confirm,),)
                    )
                ]
    await send(update, context, lang, replies)


async def archive_confirmed(update: Update, context: Context) -> None:
    """Archive the exchange: it leaves every overview and nothing more is sent for it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    exchange_id = button_id(query.data, ARCHIVE_PREFIX)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        done: Reply | None = None
        refusal = "auth.not_allowed"
        if exchange_id is not None:
            try:
                cancelled = await exchanges.archive(
                    uow.session,
                    uow.user,
                    exchange_id,
                    programmes=uow.app.programmes,
                    rules=uow.app.rules,
                    now=uow.app.clock.now(),
                )
            except auth.Archived:
                refusal = "archive.already"
            except auth.NotAllowed:
                pass
            else:
                cancelled_text = uow.app.texts.amount(lang, "archive.messages", cancelled)
                done = Reply("archive.done", {"id": exchange_id, "cancelled": cancelled_text})
    if done is None:
        await answer_callback(update, context, lang, refusal)
        await clear_buttons(update, context)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update, context)
    await send(update, context, lang, [done])


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("programma"), programme))
    app.add_handler(
        CallbackQueryHandler(programme_chosen, pattern=action_pattern(PROGRAMME_PREFIX))
    )
    app.add_handler(CommandHandler(aliases("archiveren"), archive))
    app.add_handler(CallbackQueryHandler(archive_confirmed, pattern=action_pattern(ARCHIVE_PREFIX)))
