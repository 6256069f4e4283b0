"""/nieuw (the create-a-exchange conversation), /annuleren and /programma."""

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
    chat_id_of,
    clear_buttons,
    current_dialog,
    exchange_button,
    exchange_command,
    reading,
    register_dialog,
    send,
    typed_text,
    unit_of_work,
)
from bot.menus import aliases
from bot.services import auth, checkins, dialogs, exchanges, new_exchange
from bot.ui import views
from bot.ui.callbacks import (
    ARCHIVE_PREFIX,
    INVITE_PREFIX,
    NEW_EXCHANGE_PREFIX,
    PROGRAMME_PREFIX,
    action,
    action_pattern,
    button_id,
    dialog_pattern,
)
from bot.ui.replies import Btn, Reply
from db.models import Exchange


async def new(update: Update, context: Context) -> None:
    """Start creating an exchange (coordinators only)."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.CREATE_EXCHANGE)
        except auth.NotAllowed:
            outcome = new_exchange.Outcome([Reply("auth.not_allowed")])
        else:
            outcome = await new_exchange.begin(
                uow.session,
                chat_id=chat_id_of(update),
                user_id=uow.user.id,
                programmes=uow.app.programmes,
                now=uow.app.clock.now(),
            )
    await send(update, context, lang, outcome.replies)


async def _created_replies(exchange_id: int) -> list[Reply]:
    invite = Btn(action(INVITE_PREFIX, exchange_id), key="new.btn_invite")
    return [Reply("new.created", {"id": exchange_id}, buttons=((invite,),))]


async def wizard_text(update: Update, context: Context) -> None:
    """A typed answer in the /nieuw conversation."""
    message = update.effective_message
    assert message is not None
    chat_id = message.chat_id
    typed = typed_text(update)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        current = await current_dialog(uow, chat_id, lock=True)
        if current is None or current.kind != new_exchange.KIND:
            return
        try:
            await auth.require(uow.session, uow.user, Action.CREATE_EXCHANGE)
        except auth.NotAllowed:
            await dialogs.finish(uow.session, chat_id)
            outcome = new_exchange.Outcome([Reply("auth.not_allowed")])
        else:
            outcome = await new_exchange.on_text(
                uow.session,
                current,
                typed,
                programmes=uow.app.programmes,
                now=uow.app.clock.now(),
                tz=uow.app.settings.tz,
            )
    await send(update, context, lang, outcome.replies)


async def wizard_button(update: Update, context: Context) -> None:
    """A pressed button in the /nieuw conversation."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parsed = new_exchange.parse_callback(query.data)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        chat_id = chat_id_of(update)
        dialog = await current_dialog(uow, chat_id, lock=True)
        stale = (
            parsed is None
            or dialog is None
            or dialog.kind != new_exchange.KIND
            or dialog.version != parsed[0]
        )
        outcome = None
        if not stale:
            assert dialog is not None and parsed is not None
            try:
                await auth.require(uow.session, uow.user, Action.CREATE_EXCHANGE)
            except auth.NotAllowed:
                await dialogs.finish(uow.session, chat_id)
                outcome = new_exchange.Outcome([Reply("auth.not_allowed")], finished=True)
            else:
                outcome = await new_exchange.on_choice(
                    uow.session,
                    dialog,
                    parsed[1],
                    programmes=uow.app.programmes,
                    created_by=uow.user.id,
                    now=uow.app.clock.now(),
                )
        created_id = outcome.created.id if outcome and outcome.created else None
    if outcome is None:
        # A button of an earlier question or of a finished conversation: say so, change nothing.
        await answer_callback(update, context, lang, "common.button_expired")
        await clear_buttons(update, context)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update, context)
    replies = list(outcome.replies)
    if created_id is not None:
        replies.extend(await _created_replies(created_id))
    await send(update, context, lang, replies)


async def cancel(update: Update, context: Context) -> None:
    """Stop the conversation in progress; nothing of it is saved."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        had = await dialogs.finish(uow.session, chat_id_of(update))
    await send(
        update, context, lang, [Reply("common.cancelled" if had else "common.nothing_to_cancel")]
    )


async def _timeline(uow: Unit, exchange: Exchange) -> list[Reply]:
    programme = uow.app.programmes[exchange.programme_key]
    reports = (
        await checkins.day_reports(uow.session, exchange.id) if uow.user.is_coordinator else []
    )
    body = views.timeline(
        uow.app.texts, uow.lang, exchange, programme, viewer_id=uow.user.id, reports=reports
    )
    return [Reply("programme.view", {"body": body})]


async def programme(update: Update, context: Context) -> None:
    """Show the timeline of the user's exchange, or let them choose one."""
    await exchange_command(
        update, context, prefix=PROGRAMME_PREFIX, choose_key="programme.choose", view=_timeline
    )


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
                done = Reply("archive.done", {"id": exchange_id, "cancelled": cancelled})
    if done is None:
        await answer_callback(update, context, lang, refusal)
        await clear_buttons(update, context)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update, context)
    await send(update, context, lang, [done])


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("nieuw"), new))
    app.add_handler(CommandHandler(aliases("annuleren"), cancel))
    app.add_handler(CommandHandler(aliases("programma"), programme))
    app.add_handler(
        CallbackQueryHandler(wizard_button, pattern=dialog_pattern(NEW_EXCHANGE_PREFIX))
    )
    app.add_handler(
        CallbackQueryHandler(programme_chosen, pattern=action_pattern(PROGRAMME_PREFIX))
    )
    app.add_handler(CommandHandler(aliases("archiveren"), archive))
    app.add_handler(CallbackQueryHandler(archive_confirmed, pattern=action_pattern(ARCHIVE_PREFIX)))
    register_dialog(app, new_exchange.KIND, wizard_text)
