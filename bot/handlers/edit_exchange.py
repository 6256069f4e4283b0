"""/wijzig: a coordinator changes an existing exchange afterwards: the schools' names and
addresses, the classes, their sizes and the region (bot/services/exchanges.py checks and
stores each change).

After the exchange is chosen, a button per field; each change is confirmed with what it was
before, and the buttons come back for the next one until "Klaar".
"""

from __future__ import annotations

from functools import partial

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotApplication
from bot.dialogs import data, store
from bot.dialogs.engine import (
    TEXT,
    Conversation,
    Expired,
    Turn,
    choice_buttons,
    register_dialog,
    start_dialog,
)
from bot.domain.exchange_input import (
    CLASS_CHOICES,
    clean_address,
    clean_class_name,
    clean_class_size,
)
from bot.domain.holidays import REGIONS
from bot.domain.permissions import Action
from bot.handlers.common import Context, Unit, chat_id_of, send, unit_of_work
from bot.menus import aliases
from bot.services import auth, exchanges
from bot.texts import Markup
from bot.ui import views
from bot.ui.callbacks import EDIT_EXCHANGE_PREFIX
from bot.ui.replies import Btn, Deferred, Reply, rows
from db.models import Dialog, Exchange, School

KIND = "edit_exchange"

# The buttons per field: school A beside school B, as in the overview.
_LAYOUT = (
    ("school_a", "school_b"),
    ("address_a", "address_b"),
    ("class_a", "class_b"),
    ("size_a", "size_b"),
    ("region",),
)
FIELDS = tuple(field for row in _LAYOUT for field in row)


def _b(dialog: Dialog, value: str, *, key: str, **params: object) -> Btn:
    return Btn(store.button_data(EDIT_EXCHANGE_PREFIX, dialog, value), key=key, params=params)


def _letter(step: str) -> str:
    """ "A" or "B": the side a per-side step ("size_b") is about."""
    return step[-1].upper()


def _region(region: str | None) -> Deferred:
    key = f"region.{region}" if region else "edit_exchange.no_region"
    return Deferred(lambda texts, lang: Markup(texts.get(lang, key)))


async def _exchange(uow: Unit, dialog: Dialog) -> Exchange:
    exchange = await exchanges.load_exchange(uow.session, data.edit_exchange(dialog)["exchange"])
    assert exchange is not None
    return exchange


async def _question(uow: Unit, dialog: Dialog) -> Reply:
    """The question of the dialog's current step, with its buttons."""
    step = dialog.step
    if step == "exchange":
        return Reply(
            "edit_exchange.choose_exchange", buttons=choice_buttons(EDIT_EXCHANGE_PREFIX, dialog)
        )
    exchange = await _exchange(uow, dialog)
    back = _b(dialog, "back", key="edit_exchange.btn_back")
    if step == "field":
        fields = [
            tuple(
                _b(dialog, f"f:{f}", key=f"new_exchange.field_{f[:-2]}", side=_letter(f))
                if f != "region"
                else _b(dialog, f"f:{f}", key="new_exchange.field_region")
                for f in row
            )
            for row in _LAYOUT
        ]
        done = _b(dialog, "done", key="edit_exchange.btn_done")
        overview = Deferred(partial(views.edit_exchange_overview, exchange=exchange))
        return Reply(
            "edit_exchange.choose_field", {"overview": overview}, buttons=(*fields, (done,))
        )
    if step == "region":
        buttons = [_b(dialog, f"r:{r}", key=f"region.{r}") for r in REGIONS]
        return Reply(
            "edit_exchange.ask_region",
            {"city": exchange.city, "region": _region(exchange.region)},
            buttons=(*rows(buttons, 3), (back,)),
        )
    letter = _letter(step)
    side = exchanges.side_of(exchange, letter)
    school = side.school.name
    if step.startswith("school_"):
        return Reply(
            "edit_exchange.ask_school",
            {"side": letter, "school": school, "city": exchange.city},
            buttons=((back,),),
        )
    if step.startswith("use_"):
        offered = await uow.session.get(School, data.edit_exchange(dialog)["school"])
        assert offered is not None
        key = (
            "edit_exchange.ask_use_school"
            if offered.address
            else "edit_exchange.ask_use_school_no_address"
        )
        use = _b(dialog, "use", key="edit_exchange.btn_use_school", school=offered.name)
        return Reply(
            key,
            {"school": offered.name, "city": offered.city, "address": offered.address or ""},
            buttons=((use,), (back,)),
        )
    if step.startswith("address_"):
        address = side.school.address
        clear = (_b(dialog, "clear", key="edit_exchange.btn_clear_address"),) if address else ()
        return Reply(
            "edit_exchange.ask_address" if address else "edit_exchange.ask_address_none",
            {"school": school, "address": address or ""},
            buttons=(clear, (back,)) if clear else ((back,),),
        )
    if step.startswith("class_"):
        buttons = [
            Btn(store.button_data(EDIT_EXCHANGE_PREFIX, dialog, f"g:{k}"), label=v)
            for k, v in CLASS_CHOICES.items()
        ]
        return Reply(
            "edit_exchange.ask_class",
            {"school": school, "class_name": side.class_name},
            buttons=(*rows(buttons, 3), (back,)),
        )
    if step.startswith("size_"):
        return Reply(
            "edit_exchange.ask_size",
            {"school": school, "size": side.class_size},
            buttons=((back,),),
        )
    raise ValueError(f"unknown step {step}")


async def begin(update: Update, context: Context) -> None:
    """Start changing an exchange (coordinators only): choose it, then the field."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.EDIT_EXCHANGE)
        except auth.NotAllowed as refusal:
            replies = [Reply(refusal.key)]
        else:
            candidates = await exchanges.visible_exchanges(uow.session, uow.user)
            if not candidates:
                replies = [Reply("programme.none_coordinator")]
            else:
                choices = [(e.id, exchanges.label(e)) for e in candidates]
                dialog = await start_dialog(
                    uow, chat_id_of(update), kind=KIND, choices=choices, first_step="field"
                )
                replies = [await _question(uow, dialog)]
    await send(update, context, lang, replies)


def _changed(change: exchanges.Change, school: str) -> Reply:
    """What changed, and what it was."""
    params: dict[str, object] = {
        "side": change.side or "",
        "school": school,
        "old": change.old or "",
        "new": change.new or "",
    }
    if change.old == change.new:
        return Reply("edit_exchange.unchanged")
    if change.field == "school":
        return Reply(
            "edit_exchange.changed_school_own"
            if change.own_school
            else "edit_exchange.changed_school",
            params,
        )
    if change.field == "address":
        if change.new is None:
            return Reply("edit_exchange.changed_address_cleared", params)
        if change.old is None:
            return Reply("edit_exchange.changed_address_new", params)
        return Reply("edit_exchange.changed_address", params)
    if change.field == "region":
        return Reply(
            "edit_exchange.changed_region",
            {"old": _region(change.old), "new": _region(change.new)},
        )
    return Reply(f"edit_exchange.changed_{change.field}", params)


async def _apply(uow: Unit, dialog: Dialog, value: str, typed: bool) -> exchanges.Change | Turn:
    """The change the answer to a field's question asks for (or what to answer instead)."""
    session, user = uow.session, uow.user
    exchange_id = data.edit_exchange(dialog)["exchange"]
    step = dialog.step
    letter = _letter(step)
    if step == "region":
        region = value.removeprefix("r:")
        if typed or not value.startswith("r:") or region not in REGIONS:
            raise Expired
        return await exchanges.set_region(
            session,
            user,
            exchange_id,
            region,
            programmes=uow.app.programmes,
            rules=uow.app.rules,
            now=uow.app.clock.now(),
        )
    if (step.startswith("school_") or step.startswith("use_")) and typed:
        try:
            return await exchanges.rename_school(
                session, user, exchange_id, letter, value, now=uow.app.clock.now()
            )
        except exchanges.SchoolTaken as taken:
            store.advance(
                dialog, f"use_{letter.lower()}", uow.app.clock.now(), {"school": taken.school.id}
            )
            return Turn([await _question(uow, dialog)])
    if step.startswith("use_") and value == "use" and not typed:
        school_id = data.edit_exchange(dialog)["school"]
        return await exchanges.use_school(
            session, user, exchange_id, letter, school_id, now=uow.app.clock.now()
        )
    if step.startswith("address_"):
        if typed:
            address = clean_address(value)
        elif value == "clear":
            address = None
        else:
            raise Expired
        return await exchanges.change_address(
            session, user, exchange_id, letter, address, now=uow.app.clock.now()
        )
    if step.startswith("class_"):
        if typed:
            name = clean_class_name(value)
        elif value.removeprefix("g:") in CLASS_CHOICES and value.startswith("g:"):
            name = CLASS_CHOICES[value[2:]]
        else:
            raise Expired
        return await exchanges.set_class_name(
            session, user, exchange_id, letter, name, now=uow.app.clock.now()
        )
    if step.startswith("size_") and typed:
        size = clean_class_size(value)
        return await exchanges.change_class_size(
            session, user, exchange_id, letter, size, now=uow.app.clock.now()
        )
    if typed:
        return Turn([Reply("common.use_buttons"), await _question(uow, dialog)])
    raise Expired


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """One answer in /wijzig; a coordinator's rights are checked at every step."""
    await auth.require(uow.session, uow.user, Action.EDIT_EXCHANGE)
    typed = how == TEXT
    now = uow.app.clock.now()
    step = dialog.step
    if step == "exchange":
        picked = None if typed else store.chosen(dialog, value)
        if picked is None:
            if typed:
                return Turn([Reply("common.use_buttons"), await _question(uow, dialog)])
            raise Expired
        await auth.require_exchange(uow.session, uow.user, Action.EDIT_EXCHANGE, picked)
        store.advance(dialog, "field", now, {"exchange": picked})
        return Turn([await _question(uow, dialog)])
    # Every step checks the exchange may still be changed (not archived in the meantime).
    exchange_id = data.edit_exchange(dialog)["exchange"]
    await auth.require_exchange(uow.session, uow.user, Action.EDIT_EXCHANGE, exchange_id)
    if step == "field":
        if typed:
            return Turn([Reply("common.use_buttons"), await _question(uow, dialog)])
        if value == "done":
            await store.finish(uow.session, dialog.chat_id)
            return Turn([Reply("edit_exchange.done")])
        field = value.removeprefix("f:")
        if not value.startswith("f:") or field not in FIELDS:
            raise Expired
        store.advance(dialog, field, now)
        return Turn([await _question(uow, dialog)])
    if value == "back" and not typed:
        store.advance(dialog, "field", now)
        return Turn([await _question(uow, dialog)])
    outcome = await _apply(uow, dialog, value, typed)
    if isinstance(outcome, Turn):
        return outcome
    store.advance(dialog, "field", now)
    exchange = await _exchange(uow, dialog)
    school = exchanges.side_of(exchange, outcome.side).school.name if outcome.side else ""
    return Turn([_changed(outcome, school), await _question(uow, dialog)], queued=True)


CONVERSATION = Conversation(KIND, _step, _question, prefix=EDIT_EXCHANGE_PREFIX)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("wijzig"), begin))
    register_dialog(app, CONVERSATION)
