"""What the bot does with everything no other handler took: typed answers, unknown input."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotApplication, app_context
from bot.dialogs.engine import conversation_of, current_dialog, dialog_text, peek_dialog
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    chat_id_of,
    reading,
    say,
    send,
    unit_of_work,
)
from bot.services import exchanges, next_steps
from bot.ui import views
from bot.ui.replies import Reply


async def _next_step(uow: Unit) -> Reply:
    """The person's next step in each of their exchanges; a coordinator's overview in one
    line; for someone in no exchange, what the bot is and how to join."""
    app = uow.app
    today = app.today()
    mine = await next_steps.standings(uow.session, uow.user, app.programmes, today)
    if mine:
        return views.free_text_answer(app.texts, uow.lang, mine, today)
    if uow.user.is_coordinator:
        coordinated = await exchanges.visible_exchanges(uow.session, uow.user)
        if not coordinated:
            return Reply("fallback.coordinator_none")
        open_ones = next_steps.without_dates(coordinated, app.programmes, today)
        return Reply(
            "fallback.coordinator",
            {
                "pairs": app.texts.amount(uow.lang, "fallback.pairs", len(coordinated)),
                "open": app.texts.amount(uow.lang, "fallback.pairs_open", len(open_ones))
                if open_ones
                else app.texts.get(uow.lang, "fallback.all_agreed"),
            },
        )
    return Reply("fallback.stranger")


async def text(update: Update, context: Context) -> None:
    """Route a typed answer to the chat's conversation, or answer with the next step.

    Reading which conversation the chat is in writes nothing; the answer is taken in a unit
    of work of its own (bot/dialogs/engine.py). Only a conversation that has ended (lapsed,
    or its exchange archived) is deleted, in one write. Free text outside a conversation is
    answered with what is next for the person (read only).
    """
    app = app_context(context)
    chat_id = chat_id_of(update)
    answer: Reply | None = None
    async with reading(update, context) as uow:
        lang = uow.lang
        dialog, ended = await peek_dialog(uow, chat_id)
        peeked = dict(dialog.data) if dialog else {}
        conversation = conversation_of(context, dialog.kind) if dialog else None
        # A report left too long is dropped unsent; say so rather than ignore what was typed.
        lapsed = f"fallback.lapsed_{ended}"
        if conversation is None and not app.texts.has(lapsed):
            answer = await _next_step(uow)
    if conversation is not None:
        await dialog_text(update, context, conversation, peeked)
        return
    if ended is not None:
        async with unit_of_work(update, context) as uow:
            await current_dialog(uow, chat_id)
    await send(update, context, lang, [answer or Reply(lapsed)])


async def unknown_command(update: Update, context: Context) -> None:
    """Answer a command the bot does not know."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await say(update, context, lang, "fallback.unknown_command")


async def other_message(update: Update, context: Context) -> None:
    """Answer stickers, photos and the like outside a conversation."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await say(update, context, lang, "fallback.other")


async def unknown_button(update: Update, context: Context) -> None:
    """A button whose data no handler knows (old or forged): say it has expired."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await answer_callback(update, context, lang, "common.button_expired")


def register(app: BotApplication) -> None:
    """Register last, in the default group: PTB runs the first matching handler of a group,
    so these only see updates that no feature handler matched."""
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, text))
    app.add_handler(
        MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, other_message)
    )
    app.add_handler(CallbackQueryHandler(unknown_button))
