"""Answers to a conversation, the same way for every kind: a pressed button or a typed text
goes to the chat's current conversation, is applied by that kind's step, and is answered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.context import BotApplication, app_context
from bot.dialogs import store
from bot.domain.exchange_input import InputError
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    chat_id_of,
    clear_buttons,
    edit_pressed,
    paged_buttons,
    send,
    typed_text,
    unit_of_work,
)
from bot.jobs.outbox import kick
from bot.services import auth
from bot.ui import replies as render
from bot.ui.callbacks import CHOICE, dialog_pattern
from bot.ui.replies import Btn, Reply
from db.models import Dialog

# How an answer came: a pressed button, a typed text, a photo.
BUTTON = "button"
TEXT = "text"
PHOTO = "photo"

# The conversation's data as it was read before the answer's write began (for `first`, `gone`).
Peeked = Mapping[str, Any]


@dataclass
class Turn:
    """What one answer does.

    `replies` are sent as new messages; `edit` redraws the message whose button was pressed
    (text and keyboard), in place; `queued` kicks the outbox after the commit; `after` runs
    once the replies are sent (e.g. to update other people's copies of an alert).
    """

    replies: list[Reply] = field(default_factory=list)
    edit: Reply | None = None
    queued: bool = False
    after: Callable[[Context], Awaitable[None]] | None = None


class Expired(Exception):
    """Raised by a step: the pressed button is not one of the current question's."""


# (unit, dialog, value, how) → what it does; raises InputError for a bad answer (explained,
# and the question asked again), auth.NotAllowed to end the conversation, Expired.
DialogStep = Callable[[Unit, Dialog, str, str], Awaitable[Turn]]
DialogAsk = Callable[[Unit, Dialog], Awaitable[Reply]]


@dataclass(frozen=True)
class Conversation:
    """One kind of conversation: how it asks its current question and takes an answer.

    `prefix` is that of its buttons (`<prefix>:<version>:<value>`), when it has any. `first`
    locks, before the conversation's own row, what the step will lock (the order every writer
    keeps, so two of them wait rather than deadlock). `gone` answers a typed text whose
    conversation ended between reading the chat and taking the answer.
    """

    kind: str
    step: DialogStep
    ask: DialogAsk
    prefix: str | None = None
    first: Callable[[Unit, Peeked], Awaitable[None]] | None = None
    gone: Callable[[Unit, Peeked], Awaitable[list[Reply]]] | None = None


# Typed answers go to the conversation the chat is in; each kind is registered with the
# Application (in its bot_data), so two Applications share nothing.
_CONVERSATIONS = "conversations"


def _registry(application: BotApplication) -> dict[str, Conversation]:
    found: dict[str, Conversation] = application.bot_data.setdefault(_CONVERSATIONS, {})
    return found


def register_dialog(application: BotApplication, conversation: Conversation) -> None:
    """Take this kind's typed answers, and its buttons when it has a prefix."""
    _registry(application)[conversation.kind] = conversation
    if conversation.prefix is not None:

        async def pressed(update: Update, context: Context) -> None:
            await dialog_button(update, context, conversation)

        application.add_handler(
            CallbackQueryHandler(pressed, pattern=dialog_pattern(conversation.prefix))
        )


def conversation_of(context: Context, kind: str) -> Conversation | None:
    return _registry(context.application).get(kind)


async def peek_dialog(uow: Unit, chat_id: int) -> tuple[Dialog | None, str | None]:
    """The chat's conversation, changing nothing (`store.peek`): for a read unit of work."""
    return await store.peek(uow.session, chat_id, now=uow.app.clock.now(), ttls=uow.app.dialog_ttls)


async def current_dialog(uow: Unit, chat_id: int, *, lock: bool = False) -> Dialog | None:
    """The chat's conversation (an ended one is deleted: a write unit of work)."""
    return await store.current(
        uow.session, chat_id, now=uow.app.clock.now(), ttls=uow.app.dialog_ttls, lock=lock
    )


async def _apply(
    uow: Unit, conversation: Conversation, dialog: Dialog, value: str, how: str
) -> Turn | None:
    """One answer to the current conversation; None when the button has expired."""
    raw = value.removeprefix(CHOICE)
    page = store.page_of(raw) if how == BUTTON and raw != value else None
    if page is not None:
        # 'Meer…' under a list of choices: the next page, in the same message.
        store.remember(dialog, uow.app.clock.now(), {"page": page})
        return Turn(edit=await conversation.ask(uow, dialog))
    try:
        return await conversation.step(uow, dialog, value, how)
    except Expired:
        return None
    except InputError as problem:
        return Turn([Reply(problem.key, problem.params), await conversation.ask(uow, dialog)])
    except auth.NotAllowed as refusal:
        await store.finish(uow.session, dialog.chat_id)
        return Turn([Reply(refusal.key)])


async def dialog_answer(
    update: Update,
    context: Context,
    conversation: Conversation,
    *,
    how: str,
    value: str | None,
    version: int | None = None,
    peeked: Peeked | None = None,
) -> None:
    """Apply one answer to the chat's conversation of this kind, the same way for every kind.

    A button must belong to the current question (its version), so a stale or double-tapped
    button changes nothing. A bad answer gets its explanation and the question again.
    """
    turn: Turn | None = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        if conversation.first is not None and peeked is not None:
            await conversation.first(uow, peeked)
        dialog = await current_dialog(uow, chat_id_of(update), lock=True)
        if (
            dialog is not None
            and dialog.kind == conversation.kind
            and value is not None
            and (how != BUTTON or dialog.version == version)
        ):
            turn = await _apply(uow, conversation, dialog, value, how)
        elif how == TEXT and conversation.gone is not None and peeked is not None:
            turn = Turn(await conversation.gone(uow, peeked))
    if how == BUTTON:
        if turn is None:
            await answer_callback(update, context, lang, "common.button_expired")
            await clear_buttons(update, context)
            return
        await answer_callback(update, context, lang)
        if turn.edit is not None:
            app = app_context(context)
            await edit_pressed(
                update,
                context,
                text=render.text(app.texts, lang, turn.edit),
                reply_markup=render.keyboard(app.texts, lang, turn.edit.buttons),
            )
        elif turn.replies:
            await clear_buttons(update, context)
    if turn is None:
        return
    if turn.replies:
        await send(update, context, lang, turn.replies)
    if turn.after is not None:
        await turn.after(context)
    if turn.queued:
        kick(context.application)


async def dialog_button(update: Update, context: Context, conversation: Conversation) -> None:
    """A pressed button ('<prefix>:<version>:<value>') of a conversation."""
    query = update.callback_query
    assert query is not None and query.data is not None and conversation.prefix is not None
    parsed = store.parse_button(query.data, conversation.prefix)
    await dialog_answer(
        update,
        context,
        conversation,
        how=BUTTON,
        value=parsed[1] if parsed else None,
        version=parsed[0] if parsed else None,
    )


async def dialog_text(
    update: Update, context: Context, conversation: Conversation, peeked: Peeked | None = None
) -> None:
    """A typed answer in a conversation."""
    await dialog_answer(
        update, context, conversation, how=TEXT, value=typed_text(update), peeked=peeked
    )


def choice_buttons(prefix: str, dialog: Dialog) -> tuple[tuple[Btn, ...], ...]:
    """The page of the dialog's offered choices it is at, as 'x:<id>' buttons."""
    chooser = dialog.data
    return paged_buttons(
        chooser.get("choices", []),
        lambda value: store.button_data(prefix, dialog, f"{CHOICE}{value}"),
        int(chooser.get("page", 0)),
    )


async def start_dialog(
    uow: Unit,
    chat_id: int,
    *,
    kind: str,
    choices: Sequence[tuple[int, str]],
    first_step: str,
    key: Literal["exchange", "checkin"] = "exchange",
) -> Dialog:
    """Begin a conversation that first asks to pick one of `choices` (id, label).

    With a single choice there is nothing to ask: it is taken, and the dialog starts at
    `first_step` with `key` set to it.
    """
    now = uow.app.clock.now()
    dialog = await store.start(
        uow.session,
        chat_id=chat_id,
        user_id=uow.user.id,
        kind=kind,
        step="exchange",
        data={"choices": [list(c) for c in choices]},
        now=now,
    )
    if len(choices) == 1:
        only = choices[0][0]
        store.advance(
            dialog, first_step, now, {"checkin": only} if key == "checkin" else {"exchange": only}
        )
    return dialog
