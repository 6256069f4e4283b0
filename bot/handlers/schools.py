"""/school: a school's address, and the phone number a teacher or coordinator shares for the
exchange days.

Showing it changes nothing. Its buttons change the address or the number: typing one is a
short conversation (kind "school"); sharing the number, or no longer sharing it, is one tap.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.dialogs import data, store
from bot.dialogs.engine import TEXT, Conversation, Expired, Turn, register_dialog
from bot.domain.exchange_input import clean_address
from bot.domain.permissions import Action
from bot.domain.phones import format_phone, read_phone
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    chat_id_of,
    clear_buttons,
    exchange_button,
    exchange_buttons,
    reading,
    send,
    unit_of_work,
)
from bot.menus import aliases
from bot.services import auth, exchanges, schools
from bot.ui import callbacks
from bot.ui import schools as ui
from bot.ui.callbacks import (
    SCHOOL_ACTION_PREFIX,
    SCHOOL_DIALOG_PREFIX,
    SCHOOL_PREFIX,
    action_pattern,
    button_data,
)
from bot.ui.replies import Btn, Reply
from db.models import Dialog, Exchange

KIND = "school"


async def _view(uow: Unit, exchange: Exchange) -> list[Reply]:
    """The schools the user looks after in `exchange`, and their own number."""
    reader = schools.reader_of(exchange, uow.user)
    body, buttons = ui.view(uow.app.texts, uow.lang, exchange, uow.user, reader)
    return [Reply("schools.view", {"body": body}, buttons=buttons)]


def _phone_view(uow: Unit) -> Reply:
    body, buttons = ui.phone_view(uow.app.texts, uow.lang, uow.user)
    return Reply("schools.view", {"body": body}, buttons=buttons)


async def _view_of(uow: Unit, exchange_id: int | None) -> list[Reply]:
    """What the user sees again after a change: the exchange's view, or their number."""
    exchange = await exchanges.load_exchange(uow.session, exchange_id) if exchange_id else None
    if exchange is None or not await auth.may(
        uow.session, uow.user, Action.VIEW_EXCHANGE, exchange.id
    ):
        return [_phone_view(uow)]
    return await _view(uow, exchange)


async def school(update: Update, context: Context) -> None:
    """Show the user's school with its address and their phone number, or let them choose
    the exchange first."""
    async with reading(update, context) as uow:
        lang = uow.lang
        mine = await schools.editable_exchanges(uow.session, uow.user)
        if len(mine) == 1:
            replies = await _view(uow, mine[0])
        elif mine:
            replies = [
                _phone_view(uow),
                Reply(
                    "schools.choose",
                    {"count": len(mine)},
                    buttons=exchange_buttons(SCHOOL_PREFIX, mine),
                ),
            ]
        elif uow.user.is_coordinator:
            replies = [_phone_view(uow), Reply("programme.none_coordinator")]
        elif await exchanges.visible_exchanges(uow.session, uow.user):
            replies = [Reply("schools.only_teachers")]
        else:
            replies = [Reply("programme.none")]
    await send(update, context, lang, replies)


async def school_chosen(update: Update, context: Context) -> None:
    """Show /school for the exchange whose button was pressed, if the user may see it."""
    await exchange_button(
        update, context, prefix=SCHOOL_PREFIX, action=Action.VIEW_EXCHANGE, view=_view
    )


# -- the buttons of the view -------------------------------------------------------------------


async def school_action(update: Update, context: Context) -> None:
    """A button of /school: type an address or a number, share it, stop sharing, forget it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parsed = callbacks.parse_school_action(query.data)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        replies = await _act(uow, chat_id_of(update), parsed) if parsed else None
    if replies is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update, context)
    await send(update, context, lang, replies)


async def _act(uow: Unit, chat_id: int, parsed: tuple[str, int | None]) -> list[Reply] | None:
    """What a /school button does; None when it is refused (not theirs, or forged)."""
    what, exchange_id = parsed
    now = uow.app.clock.now()
    if what in ("A", "B"):
        assert exchange_id is not None
        try:
            await auth.require_side(uow.session, uow.user, Action.EDIT_SCHOOL, exchange_id, what)
        except auth.NotAllowed as refusal:
            return [Reply(refusal.key)]
        dialog = await store.start(
            uow.session,
            chat_id=chat_id,
            user_id=uow.user.id,
            kind=KIND,
            step="address",
            data={"exchange": exchange_id, "side": what},
            now=now,
        )
        return [await _question(uow, dialog)]
    if what == "phone":
        dialog = await store.start(
            uow.session,
            chat_id=chat_id,
            user_id=uow.user.id,
            kind=KIND,
            step="phone",
            data={"exchange": exchange_id} if exchange_id is not None else {},
            now=now,
        )
        return [await _question(uow, dialog)]
    if what == "share":
        try:
            schools.share_phone(uow.user, now=now)
        except schools.NoPhone:
            return [Reply("schools.share_without_phone"), *await _view_of(uow, exchange_id)]
        done = "schools.shared"
    elif what == "stop":
        schools.stop_sharing(uow.user)
        done = "schools.stopped"
    else:
        schools.set_phone(uow.user, None)
        done = "schools.forgotten"
    return [Reply(done), *await _view_of(uow, exchange_id)]


# -- typing an address or a phone number -------------------------------------------------------


async def _question(uow: Unit, dialog: Dialog) -> Reply:
    """Ask for the address or the number, with a button to stop."""
    cancel = (
        (Btn(button_data(SCHOOL_DIALOG_PREFIX, dialog, "cancel"), key="schools.btn_cancel"),),
    )
    answers = data.school_edit(dialog)
    if dialog.step == "address":
        exchange = await exchanges.load_exchange(uow.session, answers["exchange"])
        assert exchange is not None
        found = exchanges.side_of(exchange, answers["side"]).school
        current = found.address or uow.app.texts.plain(uow.lang, "schools.no_address")
        return Reply(
            "schools.ask_address", {"school": found.name, "current": current}, buttons=cancel
        )
    if uow.user.phone is not None:
        return Reply(
            "schools.ask_phone_change", {"phone": format_phone(uow.user.phone)}, buttons=cancel
        )
    return Reply("schools.ask_phone", buttons=cancel)


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    answers = data.school_edit(dialog)
    exchange_id = answers.get("exchange")
    if how != TEXT:
        if value != "cancel":
            raise Expired
        await store.finish(uow.session, dialog.chat_id)
        return Turn([Reply("schools.unchanged"), *await _view_of(uow, exchange_id)])
    if dialog.step == "address":
        assert exchange_id is not None
        address = clean_address(value)
        found = await schools.set_address(
            uow.session, uow.user, exchange_id, answers["side"], address, now=uow.app.clock.now()
        )
        await store.finish(uow.session, dialog.chat_id)
        saved = Reply("schools.address_saved", {"school": found.name, "address": address})
        return Turn([saved, *await _view_of(uow, exchange_id)])
    phone = read_phone(value)
    schools.set_phone(uow.user, phone)
    await store.finish(uow.session, dialog.chat_id)
    key = "schools.phone_saved_shared" if schools.shares_phone(uow.user) else "schools.phone_saved"
    saved = Reply(key, {"phone": format_phone(phone)})
    return Turn([saved, *await _view_of(uow, exchange_id)])


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("school"), school))
    app.add_handler(CallbackQueryHandler(school_chosen, pattern=action_pattern(SCHOOL_PREFIX)))
    app.add_handler(
        CallbackQueryHandler(school_action, pattern=action_pattern(SCHOOL_ACTION_PREFIX))
    )
    register_dialog(app, Conversation(KIND, _step, _question, prefix=SCHOOL_DIALOG_PREFIX))
