"""Helpers every handler uses: who is asking, one transaction per update, replying, and the
exchange chooser. Conversations are in bot/dialogs/."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import AppContext, app_context
from bot.delivery import TEXT_LIMIT, Delivered, deliver, visible_len
from bot.domain.numbers import clean_text
from bot.domain.permissions import Action, Role
from bot.services import auth, exchanges
from bot.services.users import (
    Sender,
    TelegramPerson,
    all_roles,
    create_user,
    roles_of,
    sender,
    touch_user,
    up_to_date,
)
from bot.ui import replies as render
from bot.ui.callbacks import MORE, button_id, page_of
from bot.ui.replies import Btn, Reply, rows
from db.models import Exchange, User

Context = ContextTypes.DEFAULT_TYPE


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
    # The user's roles in exchanges when they were read with the user (`look_up`).
    member_roles: frozenset[Role] | None = None

    @property
    def lang(self) -> str:
        return self.user.language

    async def roles(self) -> set[Role]:
        """Every role the user has anywhere (for menus and /help)."""
        if self.member_roles is not None:
            return all_roles(self.member_roles, self.user)
        return await roles_of(self.session, self.user)


async def _touch(app: AppContext, session: AsyncSession, who: TelegramPerson) -> User:
    return await touch_user(
        session,
        who,
        now=app.clock.now(),
        default_language=app.settings.default_language,
        coordinator_ids=app.settings.coordinator_ids,
    )


@dataclass(frozen=True)
class LookedUp:
    """What `look_up` found for one update."""

    update_id: int
    sender: Sender


# Where `look_up` leaves what it found, on the update's own CallbackContext (PTB makes one
# per update and hands it to every handler of that update).
_LOOKED_UP = "wijkbot_looked_up"


async def look_up(update: Update, context: Context) -> Sender:
    """The sender, their roles and their chat's open conversation, in one query.

    It runs before a private command's own handler (`incidents.before_command`), which then
    finds the user and their roles without asking again: the first `reading` of the same
    update takes them, and only that one. Writing (`unit_of_work`) drops them, so nothing read
    here is used after a change, nor outlives its update.
    """
    app = app_context(context)
    async with app.db.read() as session:
        found = await sender(session, person(update).id, chat_id_of(update))
    setattr(context, _LOOKED_UP, LookedUp(update.update_id, found))
    return found


def _take_looked_up(update: Update, context: Context) -> Sender | None:
    looked: LookedUp | None = getattr(context, _LOOKED_UP, None)
    if looked is None:
        return None
    setattr(context, _LOOKED_UP, None)
    return looked.sender if looked.update_id == update.update_id else None


@asynccontextmanager
async def unit_of_work(update: Update, context: Context) -> AsyncIterator[Unit]:
    """A write transaction with the (refreshed) user; committed when the block ends.

    For a handler that may change something. Send replies after the block: Telegram is never
    awaited inside a write transaction.
    """
    app = app_context(context)
    _take_looked_up(update, context)
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


async def _written(app: AppContext, who: TelegramPerson, *, new: bool) -> tuple[User, bool]:
    """The user once their row is written in a short write transaction of its own: created
    when `new`, else refreshed (`touch_user`). Also whether they are new for certain: a row
    made just now has no memberships yet."""
    async with app.db.write() as writing:
        if new:
            created = await create_user(
                writing,
                who,
                now=app.clock.now(),
                default_language=app.settings.default_language,
                coordinator_ids=app.settings.coordinator_ids,
            )
            if created is not None:
                return created, True
        return await _touch(app, writing, who), False


@asynccontextmanager
async def reading(update: Update, context: Context) -> AsyncIterator[Unit]:
    """A read transaction with the user, for a handler that changes nothing.

    The user's row is written first, in a short write transaction of its own, only when it
    needs to be (a new user, another name, back after blocking the bot, "last seen" out of
    date: `users.up_to_date`); otherwise the update opens no write transaction at all.
    Nothing may change inside the block: a change would be lost, so it is refused.

    After `look_up` in the same update, the user and their roles come from there: the block
    itself then asks the database only what the handler asks.
    """
    app = app_context(context)
    who = person(update)
    looked = _take_looked_up(update, context)
    member_roles: frozenset[Role] | None = None
    async with app.db.read() as session:
        if looked is not None:
            user = looked.user
            member_roles = looked.member_roles
            if user is None or not up_to_date(user, who, now=app.clock.now()):
                user, new = await _written(app, who, new=user is None)
                if looked.user is None and not new:
                    # Made meanwhile from another chat, which may have joined an exchange.
                    member_roles = None
            # Loaded whole in a session that is closed now: it joins this one as it is.
            session.add(user)
        else:
            found = await session.get(User, who.id)
            if found is None or not up_to_date(found, who, now=app.clock.now()):
                await session.rollback()
                user, _new = await _written(app, who, new=found is None)
                if found is not None:
                    session.expunge(found)
                session.add(user)
            else:
                user = found
        event.listen(session.sync_session, "before_flush", _refuse_changes)
        yield Unit(session, user, app, member_roles)
        await session.flush()


class SometimesWrites(Protocol):
    """(unit, may_write) → the replies, or None when answering needs a change and may_write
    is off."""

    def __call__(self, uow: Unit, *, may_write: bool) -> Awaitable[list[Reply] | None]: ...


async def answer_reading_first(update: Update, context: Context, answer: SometimesWrites) -> None:
    """Answer a command that changes something only sometimes (/checkin on a day without an
    exchange day changes nothing): first in a read; only when `answer` says it must change
    something is it run again in a write, where it checks everything once more."""
    async with reading(update, context) as uow:
        lang = uow.lang
        replies = await answer(uow, may_write=False)
    if replies is None:
        async with unit_of_work(update, context) as uow:
            replies = await answer(uow, may_write=True)
    await send(update, context, lang, replies or [])


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


async def show_pressed(update: Update, context: Context, lang: str, reply: Reply) -> None:
    """Put `reply` in the message whose button was pressed (a list's next page); one too long
    to be an edit is sent as a new message (split at line breaks) instead."""
    texts = app_context(context).texts
    text = render.text(texts, lang, reply)
    keyboard = render.keyboard(texts, lang, reply.buttons)
    if visible_len(text) <= TEXT_LIMIT and await edit_pressed(
        update, context, text=text, reply_markup=keyboard
    ):
        return
    await send(update, context, lang, [reply])


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
LabelLoader = Callable[[Unit], Awaitable[list[tuple[int, str]]]]
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
                data(f"{MORE}{following}"),
                key="paging.more",
                params={"first": following + 1, "last": last, "count": total},
            )
        )
    elif total > PAGE_SIZE:
        buttons.append(Btn(data(f"{MORE}0"), key="paging.again", params={"count": total}))
    return rows(buttons, 1)


def exchange_buttons(
    prefix: str, choices: Sequence[Exchange], offset: int = 0
) -> tuple[tuple[Btn, ...], ...]:
    """One button per exchange ('#12 School A – School B'), data `<prefix><id>`, paged."""
    return paged_buttons(
        [(e.id, exchanges.label(e)) for e in choices], lambda value: f"{prefix}{value}", offset
    )


async def exchange_page(
    update: Update,
    context: Context,
    *,
    prefix: str,
    offset: int,
    load: ExchangeLoader | None = None,
    labels: LabelLoader | None = None,
) -> None:
    """'Meer…' under a list of exchanges: show the next page in the same message.

    The exchanges come from `load`, or as (id, label) from `labels`; without either, those
    the user may see, by their labels only (one light query).
    """
    async with reading(update, context) as uow:
        lang = uow.lang
        if labels is not None:
            choices = await labels(uow)
        elif load is None:
            choices = await exchanges.visible_labels(uow.session, uow.user)
        else:
            choices = [(e.id, exchanges.label(e)) for e in await load(uow)]
    await answer_callback(update, context, lang)
    app = app_context(context)
    buttons = paged_buttons(choices, lambda value: f"{prefix}{value}", offset)
    await edit_pressed(update, context, reply_markup=render.keyboard(app.texts, lang, buttons))


async def exchange_command(
    update: Update, context: Context, *, prefix: str, choose_key: str, view: ExchangeView
) -> None:
    """Show `view` of the user's exchange, or buttons to choose when they have several.

    Read-only: `view` only reads.
    """
    async with reading(update, context) as uow:
        lang = uow.lang
        # Labels only: the one exchange to show is loaded whole, a list needs no more.
        mine = await exchanges.visible_labels(uow.session, uow.user)
        if not mine:
            key = "programme.none_coordinator" if uow.user.is_coordinator else "programme.none"
            replies = [Reply(key)]
        elif len(mine) == 1:
            exchange = await exchanges.load_exchange(uow.session, mine[0][0])
            assert exchange is not None
            replies = await view(uow, exchange)
        else:
            buttons = paged_buttons(mine, lambda value: f"{prefix}{value}")
            replies = [Reply(choose_key, {"count": len(mine)}, buttons=buttons)]
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
    offset = page_of(query.data.removeprefix(prefix))
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
