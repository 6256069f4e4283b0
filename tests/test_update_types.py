"""The bot asks Telegram for the kinds of update it has handlers for, and only those: every
poll names them, and every handler reads one of them (a handler for another kind would never
be called, so adding one means adding its kind to `UPDATE_TYPES`)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
)

from bot.app import UPDATE_TYPES
from tests.harness import Harness


def _kinds(handler: BaseHandler[Any, Any, Any]) -> set[str]:
    """The kinds of update a handler can be called for; a handler of a class not known here
    fails the test, so that its kind is thought about."""
    if isinstance(handler, ConversationHandler):
        inner = [*handler.entry_points, *handler.fallbacks]
        for step in handler.states.values():
            inner.extend(step)
        return set().union(*(_kinds(h) for h in inner))
    if isinstance(handler, CommandHandler | MessageHandler):
        return {Update.MESSAGE, Update.EDITED_MESSAGE}
    if isinstance(handler, CallbackQueryHandler):
        return {Update.CALLBACK_QUERY}
    if isinstance(handler, ChatMemberHandler):
        return {
            ChatMemberHandler.MY_CHAT_MEMBER: {Update.MY_CHAT_MEMBER},
            ChatMemberHandler.CHAT_MEMBER: {Update.CHAT_MEMBER},
        }.get(handler.chat_member_types, {Update.MY_CHAT_MEMBER, Update.CHAT_MEMBER})
    if isinstance(handler, TypeHandler) and handler.type is Update:
        return set()  # runs for whatever comes
    raise AssertionError(f"which kind of update does {handler!r} read? add it to UPDATE_TYPES")


async def test_every_poll_asks_for_the_kinds_the_bot_handles(harness: Harness) -> None:
    h = harness
    await h.send(h.user(4001, "Els"), "/help")
    polls = h.tg.calls_to("getUpdates")
    assert polls
    assert all(call.params.get("allowed_updates") == UPDATE_TYPES for call in polls)


async def test_every_handler_reads_a_kind_the_bot_asks_for(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    read: set[str] = set()
    for handlers in h.app.handlers.values():
        for handler in handlers:
            read |= _kinds(handler)
    assert read <= set(UPDATE_TYPES)
    # And nothing is asked for that no handler reads.
    assert set(UPDATE_TYPES) <= read
