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
from bot.domain.permissions import Action
from bot.replies import Btn, Reply, rows
from bot.services import auth, exchanges
from bot.services.users import TelegramPerson, touch_user
from db.models import Exchange, User

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
        [
            Btn(f"{prefix}{e.id}", label=f"#{e.id} {exchanges.title(e)}")
            for e in choices[:MAX_CHOICE_BUTTONS]
        ],
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
