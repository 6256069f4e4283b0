"""/nieuw (the create-a-pair conversation), /annuleren and /programma."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import presenters
from bot.domain.permissions import Action
from bot.handlers.common import (
    Context,
    answer_callback,
    clear_buttons,
    register_dialog,
    send,
    unit_of_work,
)
from bot.menus import aliases
from bot.replies import Btn, Reply, rows
from bot.services import auth, dialogs, exchanges, new_exchange
from bot.texts import Markup

PROGRAMME_PREFIX = "prog:"
MAX_CHOICE_BUTTONS = 30


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
                chat_id=update.effective_chat.id,  # type: ignore[union-attr]
                user_id=uow.user.id,
                programmes=uow.app.programmes,
                now=uow.app.clock.now(),
            )
    await send(update, context, lang, outcome.replies)


async def _created_replies(exchange_id: int) -> list[Reply]:
    invite = Btn(f"inv:{exchange_id}", key="new.btn_invite")
    return [Reply("new.created", {"id": exchange_id}, buttons=((invite,),))]


async def wizard_text(update: Update, context: Context) -> None:
    """A typed answer in the /nieuw conversation."""
    message = update.effective_message
    assert message is not None and message.text is not None
    chat_id = message.chat_id
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        current = await dialogs.current(uow.session, chat_id, now=uow.app.clock.now(), lock=True)
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
                message.text,
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
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        dialog = await dialogs.current(uow.session, chat_id, now=uow.app.clock.now(), lock=True)
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
        await clear_buttons(update)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update)
    replies = list(outcome.replies)
    if created_id is not None:
        replies.extend(await _created_replies(created_id))
    await send(update, context, lang, replies)


async def cancel(update: Update, context: Context) -> None:
    """Stop the conversation in progress; nothing of it is saved."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        had = await dialogs.finish(uow.session, update.effective_chat.id)  # type: ignore[union-attr]
    await send(
        update, context, lang, [Reply("common.cancelled" if had else "common.nothing_to_cancel")]
    )


async def programme(update: Update, context: Context) -> None:
    """Show the timeline of the user's exchange, or let them choose one."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        app = uow.app
        mine = await exchanges.visible_exchanges(uow.session, uow.user)
        if not mine:
            key = "programme.none_coordinator" if uow.user.is_coordinator else "programme.none"
            replies = [Reply(key)]
        elif len(mine) == 1:
            only = mine[0]
            body = presenters.timeline(
                app.texts, lang, only, app.programmes[only.programme_key], viewer_id=uow.user.id
            )
            replies = [Reply("programme.view", {"body": body})]
        else:
            buttons = [
                Btn(f"{PROGRAMME_PREFIX}{e.id}", label=f"#{e.id} {exchanges.title(e)}")
                for e in mine[:MAX_CHOICE_BUTTONS]
            ]
            replies = [Reply("programme.choose", {"count": len(mine)}, buttons=rows(buttons, 1))]
    await send(update, context, lang, replies)


async def programme_chosen(update: Update, context: Context) -> None:
    """Show the exchange whose button was pressed, if the user may see it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.removeprefix(PROGRAMME_PREFIX)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        body: Markup | None = None
        if raw.isdigit():
            try:
                await auth.require_exchange(uow.session, uow.user, Action.VIEW_EXCHANGE, int(raw))
            except auth.NotAllowed:
                pass
            else:
                exchange = await exchanges.load_exchange(uow.session, int(raw))
                assert exchange is not None
                body = presenters.timeline(
                    uow.app.texts,
                    lang,
                    exchange,
                    uow.app.programmes[exchange.programme_key],
                    viewer_id=uow.user.id,
                )
    if body is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, [Reply("programme.view", {"body": body})])


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler(aliases("nieuw"), new))
    app.add_handler(CommandHandler(aliases("annuleren"), cancel))
    app.add_handler(CommandHandler(aliases("programma"), programme))
    app.add_handler(CallbackQueryHandler(wizard_button, pattern=f"^{new_exchange.PREFIX}:"))
    app.add_handler(CallbackQueryHandler(programme_chosen, pattern=f"^{PROGRAMME_PREFIX}"))
    register_dialog(new_exchange.KIND, wizard_text)
