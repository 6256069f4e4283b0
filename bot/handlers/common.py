"""Helpers every handler uses: who is asking, one transaction per update, replying."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import ContextTypes

from bot import render
from bot.context import AppContext, app_context
from bot.domain.exchange_input import InputError
from bot.domain.permissions import Action
from bot.jobs import dispatcher
from bot.replies import Btn, Reply, rows
from bot.services import auth, dialogs, exchanges
from bot.services.users import TelegramPerson, touch_user
from db.models import Dialog, Exchange, User

Context = ContextTypes.DEFAULT_TYPE
DialogTextHandler = Callable[[Update, Context], Awaitable[None]]

# Typed answers go to the conversation the chat is in; each conversation kind registers here.
_DIALOG_TEXT_HANDLERS: dict[str, DialogTextHandler] = {}


def register_dialog(kind: str, handler: DialogTextHandler) -> None:
    _DIALOG_TEXT_HANDLERS[kind] = handler


def dialog_text_handler(kind: str) -> DialogTextHandler | None:
    return _DIALOG_TEXT_HANDLERS.get(kind)


def person(update: Update) -> TelegramPerson:
    tg = update.effective_user
    if tg is None:
        raise ValueError("update without a user")
    return TelegramPerson(
        id=tg.id,
        display_name=tg.full_name,
        username=tg.username,
        language_code=tg.language_code,
    )


@dataclass
class Unit:
    """One unit of work for one update: the session, the user, the shared resources."""

    session: AsyncSession
    user: User
    app: AppContext

    @property
    def lang(self) -> str:
        return self.user.language


@asynccontextmanager
async def unit_of_work(update: Update, context: Context) -> AsyncIterator[Unit]:
    """A write transaction with the (refreshed) user; committed when the block ends.

    Send replies after the block: Telegram is never awaited inside a write transaction.
    """
    app = app_context(context)
    async with app.db.write() as session:
        user = await touch_user(
            session,
            person(update),
            now=app.clock.now(),
            default_language=app.settings.default_language,
            coordinator_ids=app.settings.coordinator_ids,
        )
        yield Unit(session, user, app)


async def send(
    update: Update, context: Context, lang: str, replies: Sequence[Reply]
) -> list[Message]:
    """Send replies to the chat of the update, in order."""
    app = app_context(context)
    chat = update.effective_chat
    if chat is None:
        return []
    sent = []
    for reply in replies:
        text = render.text(app.texts, lang, reply)
        markup = render.markup(app.texts, lang, reply)
        if reply.attachment is not None:
            sent.append(
                await context.bot.send_document(
                    chat.id,
                    reply.attachment.content,
                    filename=reply.attachment.filename,
                    caption=text,
                    reply_markup=markup,
                )
            )
        else:
            sent.append(await context.bot.send_message(chat.id, text, reply_markup=markup))
    return sent


async def say(update: Update, context: Context, lang: str, key: str, **params: object) -> None:
    await send(update, context, lang, [Reply(key, params)])


async def answer_callback(
    update: Update, context: Context, lang: str, key: str | None = None, **params: object
) -> None:
    query = update.callback_query
    if query is None:
        return
    text = app_context(context).texts.plain(lang, key, **params) if key else None
    await query.answer(text)


async def clear_buttons(update: Update) -> None:
    """Remove the keyboard of the message whose button was pressed (it has been used)."""
    query = update.callback_query
    if query is not None and query.message is not None and query.message.reply_markup:
        await query.edit_message_reply_markup(reply_markup=None)


# -- commands about one exchange: show it, or let the user pick one of theirs -----------------

ExchangeView = Callable[[Unit, Exchange], Awaitable[list[Reply]]]
MAX_CHOICE_BUTTONS = 30


def exchange_buttons(prefix: str, choices: Sequence[Exchange]) -> tuple[tuple[Btn, ...], ...]:
    """One button per exchange ('#12 School A – School B'), data `<prefix><id>`."""
    return rows(
        [Btn(f"{prefix}{e.id}", label=exchanges.label(e)) for e in choices[:MAX_CHOICE_BUTTONS]],
        1,
    )


async def exchange_command(
    update: Update, context: Context, *, prefix: str, choose_key: str, view: ExchangeView
) -> None:
    """Show `view` of the user's exchange, or buttons to choose when they have several."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        mine = list(await exchanges.visible_exchanges(uow.session, uow.user))
        if not mine:
            key = "programme.none_coordinator" if uow.user.is_coordinator else "programme.none"
            replies = [Reply(key)]
        elif len(mine) == 1:
            replies = await view(uow, mine[0])
        else:
            replies = [
                Reply(choose_key, {"count": len(mine)}, buttons=exchange_buttons(prefix, mine))
            ]
    await send(update, context, lang, replies)


async def exchange_button(
    update: Update, context: Context, *, prefix: str, action: Action, view: ExchangeView
) -> None:
    """Show `view` of the exchange whose button was pressed, if the user may see it.

    The id in the button is checked like any other input: a forged one naming an exchange
    of somebody else is refused like one that does not exist.
    """
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.removeprefix(prefix)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        replies: list[Reply] | None = None
        if raw.isdigit():
            try:
                await auth.require_exchange(uow.session, uow.user, action, int(raw))
            except auth.NotAllowed:
                replies = None
            else:
                exchange = await exchanges.load_exchange(uow.session, int(raw))
                assert exchange is not None
                replies = await view(uow, exchange)
    if replies is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, replies)


# -- conversations kept in the database ------------------------------------------------------

BUTTON = "button"
TEXT = "text"
PHOTO = "photo"

# (unit, dialog, value, how) → (replies, whether pushes were queued); raises InputError.
DialogStep = Callable[[Unit, Dialog, str, str], Awaitable[tuple[list[Reply], bool]]]
DialogAsk = Callable[[Unit, Dialog], Awaitable[Reply]]


async def dialog_answer(
    update: Update,
    context: Context,
    *,
    kind: str,
    how: str,
    value: str | None,
    version: int | None,
    step: DialogStep,
    ask: DialogAsk,
) -> None:
    """Apply one answer to the chat's conversation of `kind`, the same way for every kind.

    A button must belong to the current question (its version), so a stale or double-tapped
    button changes nothing. A bad answer gets its explanation and the question again.
    """
    queued = False
    replies: list[Reply] | None = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        dialog = await dialogs.current(uow.session, chat_id, now=uow.app.clock.now(), lock=True)
        current = (
            dialog is not None
            and dialog.kind == kind
            and value is not None
            and (how != BUTTON or dialog.version == version)
        )
        if current:
            assert dialog is not None and value is not None
            try:
                replies, queued = await step(uow, dialog, value, how)
            except InputError as problem:
                replies = [Reply(problem.key, problem.params), await ask(uow, dialog)]
            except auth.NotAllowed:
                await dialogs.finish(uow.session, chat_id)
                replies = [Reply("auth.not_allowed")]
    if how == BUTTON:
        if replies is None:
            await answer_callback(update, context, lang, "common.button_expired")
            await clear_buttons(update)
            return
        await answer_callback(update, context, lang)
        await clear_buttons(update)
    if replies:
        await send(update, context, lang, replies)
    if queued:
        dispatcher.kick(context.application)


async def dialog_button(
    update: Update, context: Context, *, prefix: str, kind: str, step: DialogStep, ask: DialogAsk
) -> None:
    """A pressed button ('<prefix>:<version>:<value>') of a conversation."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parsed = dialogs.parse_button(query.data, prefix)
    await dialog_answer(
        update,
        context,
        kind=kind,
        how=BUTTON,
        value=parsed[1] if parsed else None,
        version=parsed[0] if parsed else None,
        step=step,
        ask=ask,
    )


async def dialog_text(
    update: Update, context: Context, *, kind: str, step: DialogStep, ask: DialogAsk
) -> None:
    """A typed answer in a conversation."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await dialog_answer(
        update,
        context,
        kind=kind,
        how=TEXT,
        value=message.text,
        version=None,
        step=step,
        ask=ask,
    )


async def start_dialog(
    uow: Unit,
    chat_id: int,
    *,
    kind: str,
    choices: Sequence[tuple[int, str]],
    key: str,
    first_step: str,
    data: dict[str, object] | None = None,
) -> Dialog:
    """Begin a conversation that first asks to pick one of `choices` (id, label).

    With a single choice there is nothing to ask: it is taken, and the dialog starts at
    `first_step` with `key` set to it.
    """
    now = uow.app.clock.now()
    dialog = await dialogs.start(
        uow.session,
        chat_id=chat_id,
        user_id=uow.user.id,
        kind=kind,
        step="exchange",
        data={**(data or {}), "choices": [list(c) for c in choices]},
        now=now,
    )
    if len(choices) == 1:
        dialogs.advance(dialog, first_step, now, **{key: choices[0][0]})
    return dialog
