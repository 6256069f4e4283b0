"""/nieuw: a coordinator creates an exchange, one question at a time (bot/services/new_exchange.py
checks and stores the answers)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotApplication
from bot.dialogs import data, store
from bot.dialogs.engine import TEXT, Conversation, Turn, register_dialog
from bot.domain.exchange_input import CLASS_CHOICES
from bot.domain.holidays import REGIONS
from bot.domain.numbers import read_int
from bot.domain.permissions import Action
from bot.handlers.common import Context, Unit, chat_id_of, send, unit_of_work
from bot.menus import aliases
from bot.services import auth, new_exchange
from bot.ui import views
from bot.ui.callbacks import INVITE_PREFIX, NEW_EXCHANGE_PREFIX, action
from bot.ui.replies import Btn, Deferred, Localized, Reply, rows
from db.models import Dialog

KIND = new_exchange.KIND

# The buttons under "Wijzig…": school A beside school B, like in the summary.
_LAYOUT = (
    ("programme", "city"),
    ("school_a", "school_b"),
    ("address_a", "address_b"),
    ("class_a", "class_b"),
    ("size_a", "size_b"),
    ("start", "region"),
)


def _b(
    dialog: Dialog, value: str, *, key: str | None = None, label: str | Localized | None = None
) -> Btn:
    return Btn(store.button_data(NEW_EXCHANGE_PREFIX, dialog, value), key=key, label=label)


async def _question(uow: Unit, dialog: Dialog) -> Reply:
    """The question for the dialog's current step, with its buttons; a field picked under
    "Wijzig…" also gets "Niet wijzigen", back to the summary."""
    question = await _asked(uow, dialog)
    if not new_exchange.keeps(dialog):
        return question
    keep = _b(dialog, "keep", key="new_exchange.btn_keep")
    return replace(question, buttons=(*question.buttons, (keep,)))


def _field_button(dialog: Dialog, field: str) -> Btn:
    if field[-2:] in ("_a", "_b"):
        key = f"new_exchange.field_{field[:-2]}"
        return Btn(
            store.button_data(NEW_EXCHANGE_PREFIX, dialog, f"e:{field}"),
            key=key,
            params={"side": field[-1].upper()},
        )
    return _b(dialog, f"e:{field}", key=f"new_exchange.field_{field}")


async def _asked(uow: Unit, dialog: Dialog) -> Reply:
    step = dialog.step
    answers = data.new_exchange(dialog)
    programmes = uow.app.programmes
    if step == "programme":
        buttons = [_b(dialog, f"p:{p.key}", label=p.name) for p in programmes.values()]
        return Reply("new_exchange.ask_programme", buttons=rows(buttons, 1))
    if step == "city":
        cities = answers.get("cities", [])
        city_buttons = [_b(dialog, f"c:{i}", label=c) for i, c in enumerate(cities)]
        city_buttons.append(_b(dialog, "c:new", key="new_exchange.btn_other_city"))
        return Reply("new_exchange.ask_city", buttons=rows(city_buttons, 2))
    if step == "city_new":
        return Reply("new_exchange.ask_city_new")
    if step == "region":
        buttons = [_b(dialog, f"r:{r}", key=f"region.{r}") for r in REGIONS]
        return Reply("new_exchange.ask_region", {"city": answers["city"]}, buttons=rows(buttons, 3))
    side = new_exchange.side_of(step)
    if step.startswith("school_"):
        return Reply("new_exchange.ask_school", {"side": side.upper(), "city": answers["city"]})
    if step.startswith("address_"):
        skip = _b(dialog, "skip", key="new_exchange.btn_skip_address")
        return Reply(
            "new_exchange.ask_address", {"school": data.school(answers, side)}, buttons=((skip,),)
        )
    if step.startswith("class_"):
        buttons = [_b(dialog, f"g:{k}", label=v) for k, v in CLASS_CHOICES.items()]
        return Reply(
            "new_exchange.ask_class",
            {"school": data.school(answers, side)},
            buttons=rows(buttons, 3),
        )
    if step.startswith("size_"):
        return Reply("new_exchange.ask_size", {"school": data.school(answers, side)})
    if step == "start":
        return Reply("new_exchange.ask_start")
    if step == "confirm":
        programme = programmes[answers["programme"]]
        summary = Deferred(partial(views.new_exchange_summary, data=answers, programme=programme))
        return Reply(
            "new_exchange.confirm",
            {"summary": summary},
            buttons=(
                (_b(dialog, "save", key="new_exchange.btn_save"),),
                (_b(dialog, "edit", key="new_exchange.btn_edit"),),
                (_b(dialog, "cancel", key="new_exchange.btn_cancel"),),
            ),
        )
    if step == "edit":
        offered = new_exchange.fields(answers, programmes)
        layout = [
            tuple(_field_button(dialog, f) for f in group if f in offered) for group in _LAYOUT
        ]
        back = _b(dialog, "back", key="new_exchange.btn_back")
        return Reply("new_exchange.ask_field", buttons=(*(r for r in layout if r), (back,)))
    raise ValueError(f"unknown step {step}")


async def new(update: Update, context: Context) -> None:
    """Start creating an exchange (coordinators only)."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.CREATE_EXCHANGE)
        except auth.NotAllowed:
            replies = [Reply("auth.not_allowed")]
        else:
            dialog = await new_exchange.begin(
                uow.session,
                chat_id=chat_id_of(update),
                user_id=uow.user.id,
                programmes=uow.app.programmes,
                now=uow.app.clock.now(),
            )
            intro = [Reply("new_exchange.intro")] if dialog.step == "programme" else []
            replies = [*intro, await _question(uow, dialog)]
    await send(update, context, lang, replies)


def _created(exchange_id: int) -> Reply:
    invite = Btn(action(INVITE_PREFIX, exchange_id), key="new_exchange.btn_invite")
    return Reply("new_exchange.created", {"id": exchange_id}, buttons=((invite,),))


async def _choice(uow: Unit, dialog: Dialog, value: str) -> Turn:
    """A pressed button: the service takes the choice it stands for."""
    session, now = uow.session, uow.app.clock.now()
    kind, _, rest = value.partition(":")
    if kind == "p":
        await new_exchange.choose_programme(session, dialog, rest, uow.app.programmes, now)
    elif value == "c:new":
        new_exchange.other_city(dialog, now)
    elif kind == "c":
        index = read_int(rest, lo=0, hi=len(data.new_exchange(dialog).get("cities", [])))
        if index is None:
            raise new_exchange.NotOffered(value)
        await new_exchange.choose_city(session, dialog, index, now)
    elif kind == "r":
        new_exchange.choose_region(dialog, rest, now)
    elif value == "skip":
        new_exchange.skip_address(dialog, now)
    elif kind == "g":
        new_exchange.choose_class(dialog, rest, now)
    elif value == "edit":
        new_exchange.edit(dialog, now)
    elif kind == "e":
        new_exchange.edit_field(dialog, rest, uow.app.programmes, now)
    elif value in ("back", "keep"):
        new_exchange.back_to_summary(dialog, now)
    elif value == "cancel":
        await new_exchange.cancel(session, dialog)
        return Turn([Reply("common.cancelled")])
    elif value == "save":
        created = await new_exchange.save(
            session, dialog, programmes=uow.app.programmes, created_by=uow.user.id, now=now
        )
        return Turn([_created(created.id)])
    else:
        raise new_exchange.NotOffered(value)
    return Turn([await _question(uow, dialog)])


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """One answer in /nieuw; a coordinator's rights are checked at every step."""
    await auth.require(uow.session, uow.user, Action.CREATE_EXCHANGE)
    if how == TEXT:
        taken = await new_exchange.answer(
            uow.session, dialog, value, now=uow.app.clock.now(), tz=uow.app.settings.tz
        )
        question = await _question(uow, dialog)
        return Turn([question] if taken else [Reply("common.use_buttons"), question])
    try:
        return await _choice(uow, dialog, value)
    except new_exchange.NotOffered:
        return Turn([Reply("common.button_expired")])


CONVERSATION = Conversation(KIND, _step, _question, prefix=NEW_EXCHANGE_PREFIX)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("nieuw"), new))
    register_dialog(app, CONVERSATION)
