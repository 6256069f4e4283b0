"""Helpers every handler uses: who is asking, one transaction per update, replying."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import AppContext, BotApplication, app_context
from bot.delivery import Delivered, deliver
from bot.domain.exchange_input import InputError
from bot.domain.numbers import clean_text
from bot.domain.permissions import Action
from bot.jobs.outbox import kick
from bot.services import auth, dialogs, exchanges
from bot.services.users import TelegramPerson, touch_user, up_to_date
from bot.ui import replies as render
from bot.ui.callbacks import button_id
from bot.ui.replies import Btn, Reply, rows
from db.models import Dialog, Exchange, User

Context = ContextTypes.DEFAULT_TYPE
DialogTextHandler = Callable[[Update, Context], Awaitable[None]]

# Typed answers go to the conversation the chat is in; each conversation kind registers its
# handler with the Application (in its bot_data), so two Applications share nothing.
_DIALOG_TEXT_HANDLERS = "dialog_text_handlers"


def _dialog_text_handlers(application: BotApplication) -> dict[str, DialogTextHandler]:
    handlers: dict[str, DialogTextHandler] = application.bot_data.setdefault(
        _DIALOG_TEXT_HANDLERS, {}
    )
    return handlers


def register_dialog(application: BotApplication, kind: str, handler: DialogTextHandler) -> None:
    _dialog_text_handlers(application)[kind] = handler


def dialog_text_handler(context: Context, kind: str) -> DialogTextHandler | None:
    return _dialog_text_handlers(context.application).get(kind)


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


def chat_id_of(update: Update) -> int:
    """The chat the update came from: every command, typed answer and button press has one."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError("update without a chat")
    return chat.id


@dataclass
class Unit:
    """One unit of work for one update: the session, the user, the shared resources."""

    session: AsyncSession
    user: User
    app: AppContext

    @property
    def lang(self) -> str:
        return self.user.language


async def _touch(app: AppContext, session: AsyncSession, who: TelegramPerson) -> User:
    return await touch_user(
        session,
        who,
        now=app.clock.now(),
        default_language=app.settings.default_language,
        coordinator_ids=app.settings.coordinator_ids,
    )


@asynccontextmanager
async def unit_of_work(update: Update, context: Context) -> AsyncIterator[Unit]:
    """A write transaction with the (refreshed) user; committed when the block ends.

    For a handler that may change something. Send replies after the block: Telegram is never
    awaited inside a write transaction.
    """
    app = app_context(context)
    async with app.db.write() as session:
        user = await _touch(app, session, person(update))
        yield Unit(session, user, app)


def _refuse_changes(session: Session, _flush: object, _instances: object) -> None:
    changed = [
        *session.new,
        *session.deleted,
        *(o for o in session.dirty if session.is_modified(o)),
    ]
    if changed:
        raise RuntimeError(f"a read-only unit of work tried to change {changed!r}")


@asynccontextmanager
async def reading(update: Update, context: Context) -> AsyncIterator[Unit]:
    """A read transaction with the user, for a handler that changes nothing.

    The user's row is written first, in a short write transaction of its own, only when it
    needs to be (a new user, another name, back after blocking the bot, "last seen" out of
    date: `users.up_to_date`); otherwise the update opens no write transaction at all.
    Nothing may change inside the block: a change would be lost, so it is refused.
    """
    app = app_context(context)
    who = person(update)
    async with app.db.read() as session:
        user = await session.get(User, who.id)
        if user is None or not up_to_date(user, who, now=app.clock.now()):
            await session.rollback()
            async with app.db.write() as writing:
                await _touch(app, writing, who)
            user = await session.get(User, who.id, populate_existing=True)
            assert user is not None
        event.listen(session.sync_session, "before_flush", _refuse_changes)
        yield Unit(session, user, app)
        await session.flush()


async def peek_dialog(uow: Unit, chat_id: int) -> tuple[Dialog | None, str | None]:
    """The chat's conversation, changing nothing (`dialogs.peek`): for a read unit of work."""
    return await dialogs.peek(
        uow.session, chat_id, now=uow.app.clock.now(), ttls=uow.app.dialog_ttls
    )


async def current_dialog(uow: Unit, chat_id: int, *, lock: bool = False) -> Dialog | None:
    """The chat's conversation (an ended one is deleted: a write unit of work)."""
    return await dialogs.current(
        uow.session, chat_id, now=uow.app.clock.now(), ttls=uow.app.dialog_ttls, lock=lock
    )


async def send(
    update: Update, context: Context, lang: str, replies: Sequence[Reply]
) -> list[Delivered]:
    """Send replies to the chat of the update, in order, each whole (bot/delivery.py)."""
    app = app_context(context)
    chat = update.effective_chat
    if chat is None:
        return []
    sent = []
    for reply in replies:
        text = render.text(app.texts, lang, reply)
        markup = render.markup(app.texts, lang, reply)
        attachment = reply.attachment
        sent.append(
            await deliver(
                context.bot,
                chat.id,
                text,
                reply_markup=markup,
                document=attachment.content if attachment is not None else None,
                filename=attachment.filename if attachment is not None else None,
            )
        )
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
    try:
        await query.answer(text)
    except BadRequest as error:
        # A press answered too late (after a restart, or a slow moment) cannot be answered
        # any more; the work itself is done, so this is no failure.
        reason = str(error).lower()
        if "query is too old" not in reason and "query id is invalid" not in reason:
            raise


# Telegram's answers to an edit that has nothing left to do: the message already shows
# that (a double tap, a keypad key that changes nothing, a keyboard already removed) or
# the message is gone. Both mean the edit's purpose is met, so they are not failures.
_EDIT_DONE = ("message is not modified",)
_EDIT_GONE = ("message to edit not found", "message can't be edited")


async def edit_quietly(
    bot: Bot,
    chat_id: int,
    message_id: int,
    *,
    text: str | None = None,
    caption: str | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> bool:
    """Edit a message's text, caption or (with neither) only its keyboard.

    Returns False when the message no longer exists or cannot be edited, True otherwise;
    "not modified" counts as done. Any other refusal is a real error and is raised.
    """
    try:
        if text is not None:
            await bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
            )
        elif caption is not None:
            await bot.edit_message_caption(
                chat_id=chat_id, message_id=message_id, caption=caption, reply_markup=reply_markup
            )
        else:
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
            )
    except BadRequest as error:
        message = str(error).lower()
        if any(m in message for m in _EDIT_DONE):
            return True
        if any(m in message for m in _EDIT_GONE):
            return False
        raise
    return True


async def edit_pressed(
    update: Update,
    context: Context,
    *,
    text: str | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> bool:
    """Edit the message whose button was pressed (text and keyboard, or only the keyboard)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if message is None:
        return False
    return await edit_quietly(
        context.bot, message.chat.id, message.message_id, text=text, reply_markup=reply_markup
    )


async def clear_buttons(update: Update, context: Context | None = None) -> None:
    """Remove the keyboard of the message whose button was pressed (it has been used).

    A second tap on the same keyboard, pressed before the first removed it, finds it gone:
    that is what was wanted, not an error.
    """
    query = update.callback_query
    message = query.message if query is not None else None
    # An inaccessible message (deleted, or too old) has no keyboard left to remove.
    if not isinstance(message, Message) or not message.reply_markup:
        return
    bot = context.bot if context is not None else message.get_bot()
    await edit_quietly(bot, message.chat.id, message.message_id)


def typed_text(update: Update) -> str:
    """What the user typed, without NUL and other control characters.

    Every handler that uses a typed text reads it here, so nothing unstorable (PostgreSQL
    refuses NUL) or invisible reaches the database or other people's chats.
    """
    message = update.effective_message
    assert message is not None and message.text is not None
    return clean_text(message.text)


# -- commands about one exchange: show it, or let the user pick one of theirs -----------------

ExchangeView = Callable[[Unit, Exchange], Awaitable[list[Reply]]]
ExchangeLoader = Callable[[Unit], Awaitable[Sequence[Exchange]]]
# Choices per page: enough to find a recent exchange at a glance, few enough to read on a phone.
PAGE_SIZE = 10


def paged_buttons(
    choices: Sequence[tuple[int, str]] | Sequence[list[Any]],
    data: Callable[[str], str],
    offset: int = 0,
) -> tuple[tuple[Btn, ...], ...]:
    """One button per (id, label), a page at a time, with 'Meer…' for the next page.

    The choices come newest first. `data` turns an id, or a page's "+<offset>", into the
    button's callback data; the last page's button goes back to the first.
    """
    total = len(choices)
    offset = offset if 0 <= offset < total else 0
    buttons = [
        Btn(data(str(choice_id)), label=str(label))
        for choice_id, label in choices[offset : offset + PAGE_SIZE]
    ]
    following = offset + PAGE_SIZE
    if total > PAGE_SIZE and following < total:
        last = min(following + PAGE_SIZE, total)
        buttons.append(
            Btn(
                data(f"{dialogs.MORE}{following}"),
                key="paging.more",
                params={"first": following + 1, "last": last, "count": total},
            )
        )
    elif total > PAGE_SIZE:
        buttons.append(Btn(data(f"{dialogs.MORE}0"), key="paging.again", params={"count": total}))
    return rows(buttons, 1)


def exchange_buttons(
    prefix: str, choices: Sequence[Exchange], offset: int = 0
) -> tuple[tuple[Btn, ...], ...]:
    """One button per exchange ('#12 School A – School B'), data `<prefix><id>`, paged."""
    return paged_buttons(
        [(e.id, exchanges.label(e)) for e in choices], lambda value: f"{prefix}{value}", offset
    )


def choice_buttons(prefix: str, dialog: Dialog) -> tuple[tuple[Btn, ...], ...]:
    """The page of the dialog's offered choices it is at, as 'x:<id>' buttons."""
    return paged_buttons(
        dialog.data.get("choices", []),
        lambda value: dialogs.button_data(prefix, dialog, f"x:{value}"),
        int(dialog.data.get("page", 0)),
    )


async def _visible(uow: Unit) -> Sequence[Exchange]:
    return await exchanges.visible_exchanges(uow.session, uow.user)


async def exchange_page(
    update: Update,
    context: Context,
    *,
    prefix: str,
    offset: int,
    load: ExchangeLoader = _visible,
) -> None:
    """'Meer…' under a list of exchanges: show the next page in the same message."""
    async with reading(update, context) as uow:
        lang = uow.lang
        choices = list(await load(uow))
    await answer_callback(update, context, lang)
    app = app_context(context)
    buttons = exchange_buttons(prefix, choices, offset)
    await edit_pressed(update, context, reply_markup=render.keyboard(app.texts, lang, buttons))


async def exchange_command(
    update: Update, context: Context, *, prefix: str, choose_key: str, view: ExchangeView
) -> None:
    """Show `view` of the user's exchange, or buttons to choose when they have several.

    Read-only: `view` only reads.
    """
    async with reading(update, context) as uow:
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
    offset = dialogs.page_of(query.data.removeprefix(prefix))
    if offset is not None:
        await exchange_page(update, context, prefix=prefix, offset=offset)
        return
    exchange_id = button_id(query.data, prefix)
    async with reading(update, context) as uow:
        lang = uow.lang
        replies: list[Reply] | None = None
        if exchange_id is not None:
            try:
                await auth.require_exchange(uow.session, uow.user, action, exchange_id)
            except auth.NotAllowed:
                replies = None
            else:
                exchange = await exchanges.load_exchange(uow.session, exchange_id)
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
    turned: Reply | None = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        chat_id = chat_id_of(update)
        dialog = await current_dialog(uow, chat_id, lock=True)
        current = (
            dialog is not None
            and dialog.kind == kind
            and value is not None
            and (how != BUTTON or dialog.version == version)
        )
        page = dialogs.page_of(value[2:]) if current and value and value[:2] == "x:" else None
        if current and how == BUTTON and page is not None:
            # 'Meer…' under the choice of exchange: the next page, in the same message.
            assert dialog is not None
            dialogs.remember(dialog, uow.app.clock.now(), page=page)
            turned = await ask(uow, dialog)
        elif current:
            assert dialog is not None and value is not None
            try:
                replies, queued = await step(uow, dialog, value, how)
            except InputError as problem:
                replies = [Reply(problem.key, problem.params), await ask(uow, dialog)]
            except auth.NotAllowed as refusal:
                await dialogs.finish(uow.session, chat_id)
                replies = [Reply(refusal.key)]
    if turned is not None:
        app = app_context(context)
        await answer_callback(update, context, lang)
        await edit_pressed(
            update,
            context,
            text=render.text(app.texts, lang, turned),
            reply_markup=render.keyboard(app.texts, lang, turned.buttons),
        )
        return
    if how == BUTTON:
        if replies is None:
            await answer_callback(update, context, lang, "common.button_expired")
            await clear_buttons(update, context)
            return
        await answer_callback(update, context, lang)
        await clear_buttons(update, context)
    if replies:
        await send(update, context, lang, replies)
    if queued:
        kick(context.application)


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
    await dialog_answer(
        update,
        context,
        kind=kind,
        how=TEXT,
        value=typed_text(update),
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
