"""On the exchange day: /checkin (with an optional location) and /checkout with its evaluation."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import BotApplication, app_context
from bot.dialogs import data, store
from bot.dialogs.engine import (
    TEXT,
    Conversation,
    Turn,
    choice_buttons,
    register_dialog,
    start_dialog,
)
from bot.domain.dates import format_time
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    answer_reading_first,
    chat_id_of,
    clear_buttons,
    edit_pressed,
    exchange_buttons,
    exchange_page,
    reading,
    send,
    unit_of_work,
)
from bot.jobs.outbox import kick
from bot.services import absences, checkins, exchanges
from bot.services.checkins import DayOfExchange
from bot.texts import Markup
from bot.ui import replies as render
from bot.ui.callbacks import (
    ABSENCE_NO_PREFIX,
    ABSENCE_PREFIX,
    ABSENCE_UNDO_PREFIX,
    ABSENCE_YES_PREFIX,
    CHECKIN_PREFIX,
    CHECKOUT_PREFIX,
    absence,
    action_pattern,
    button_data,
    button_id,
    page_of,
    parse_absence,
)
from bot.ui.outbox import day_and_time, day_line
from bot.ui.replies import Btn, Reply
from db.models import CheckIn, Dialog, Exchange

CHECKOUT = "checkout"


async def not_today(uow: Unit) -> Reply:
    """Why a field command does nothing today, and when it will."""
    upcoming = await checkins.next_day(uow.session, uow.user, uow.app.programmes, uow.app.today())
    if upcoming is None:
        return Reply("field.no_day_left")
    programme = uow.app.programmes[upcoming.exchange.programme_key]
    line = day_line(uow.app.texts, uow.lang, upcoming.exchange, programme, upcoming.phase)
    return Reply("field.not_today", {"next": Markup(line)})


async def _exchanges_today(uow: Unit) -> list[Exchange]:
    days = await checkins.days_today(uow.session, uow.user, uow.app.programmes, uow.app.today())
    return [d.exchange for d in days]


def _choose(prefix: str, days: list[DayOfExchange], key: str) -> Reply:
    return Reply(key, buttons=exchange_buttons(prefix, [d.exchange for d in days]))


async def _check_in(uow: Unit, day: DayOfExchange) -> list[Reply]:
    row, new = await checkins.check_in(uow.session, day, uow.user.id, now=uow.app.clock.now())
    programme = uow.app.programmes[day.exchange.programme_key]
    when = format_time(row.checked_in_at.astimezone(uow.app.settings.tz).time())
    params = {
        "phase": programme.phase(day.phase.phase_key).name,
        "title": exchanges.title(day.exchange),
        "time": when,
    }
    if not new:
        return [Reply("checkin.already", params)]
    return [Reply("checkin.done", params, location_button="checkin.btn_location")]


# The chats that were offered the location keyboard after a check-in and have not answered it
# yet. Kept in memory: after a restart the keyboard merely stays until it is used.
_LOCATION_KEYBOARDS = "location_keyboards"


def _location_asked(context: Context) -> set[int]:
    asked: set[int] = context.application.bot_data.setdefault(_LOCATION_KEYBOARDS, set())
    return asked


def _remember_location_question(context: Context, chat_id: int, replies: list[Reply]) -> None:
    if any(r.location_button is not None for r in replies):
        _location_asked(context).add(chat_id)


async def location_keyboard_done(update: Update, context: Context) -> None:
    """Take the location keyboard away once the person does something else than share it.

    Runs before every other handler; it answers only in a chat that still has the keyboard,
    and lets the update go on to its own handler.
    """
    chat = update.effective_chat
    message = update.message
    asked = _location_asked(context)
    if chat is None or chat.id not in asked or update.edited_message is not None:
        return
    if message is not None and message.location is not None:
        return  # `location` answers it
    asked.discard(chat.id)
    async with reading(update, context) as uow:
        lang = uow.lang
    await send(update, context, lang, [Reply("checkin.location_skipped", remove_keyboard=True)])


async def checkin(update: Update, context: Context) -> None:
    """Mark the begeleider present on today's exchange day."""
    chat_id = chat_id_of(update)

    async def answer(uow: Unit, *, may_write: bool) -> list[Reply] | None:
        replies = await _checkin_replies(uow, may_write=may_write)
        if replies is not None:
            _remember_location_question(context, chat_id, replies)
        return replies

    await answer_reading_first(update, context, answer)


async def _checkin_replies(uow: Unit, *, may_write: bool) -> list[Reply] | None:
    """The answer to /checkin; None when there is a check-in to make and `may_write` is off."""
    days = await checkins.days_today(uow.session, uow.user, uow.app.programmes, uow.app.today())
    if not days:
        return [await not_today(uow)]
    if len(days) > 1:
        return [_choose(CHECKIN_PREFIX, days, "checkin.choose")]
    if not may_write:
        return None
    return await _check_in(uow, days[0])


async def checkin_chosen(update: Update, context: Context) -> None:
    """Check in for the exchange whose button was pressed (it must be one of today's)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    offset = page_of(query.data.removeprefix(CHECKIN_PREFIX))
    if offset is not None:
        await exchange_page(
            update, context, prefix=CHECKIN_PREFIX, offset=offset, load=_exchanges_today
        )
        return
    exchange_id = button_id(query.data, CHECKIN_PREFIX)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        days = await checkins.days_today(uow.session, uow.user, uow.app.programmes, uow.app.today())
        day = next((d for d in days if d.exchange.id == exchange_id), None)
        replies = await _check_in(uow, day) if day else None
    if replies is None:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update)
    _remember_location_question(context, chat_id_of(update), replies)
    await send(update, context, lang, replies)


async def location(update: Update, context: Context) -> None:
    """Store a shared location with today's check-in."""
    message = update.effective_message
    assert message is not None and message.location is not None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        saved = await checkins.share_location(
            uow.session,
            uow.user,
            uow.app.today(),
            latitude=message.location.latitude,
            longitude=message.location.longitude,
        )
    _location_asked(context).discard(chat_id_of(update))
    key = "checkin.location_saved" if saved else "checkin.location_without_checkin"
    await send(update, context, lang, [Reply(key, remove_keyboard=True)])


async def _checkout_question(uow: Unit, dialog: Dialog) -> Reply:
    def b(value: str, key: str | None = None, label: str | None = None) -> Btn:
        return Btn(button_data(CHECKOUT_PREFIX, dialog, value), key=key, label=label)

    if dialog.step == "exchange":
        return Reply(
            "checkout.choose",
            buttons=choice_buttons(CHECKOUT_PREFIX, dialog),
        )
    if dialog.step == "rating":
        return Reply(
            "checkout.ask_rating", buttons=(tuple(b(f"r:{n}", label=str(n)) for n in range(1, 6)),)
        )
    if dialog.step == "tension":
        return Reply(
            "checkout.ask_tension",
            buttons=((b("t:yes", key="checkout.btn_yes"), b("t:no", key="checkout.btn_no")),),
        )
    if dialog.step == "tension_note":
        return Reply("checkout.ask_tension_note")
    return Reply("checkout.ask_remarks", buttons=((b("none", key="checkout.btn_nothing"),),))


async def _open_checkins(uow: Unit) -> list[CheckIn]:
    today = uow.app.today()
    return [
        c
        for c in await checkins.checkins_of(uow.session, uow.user.id, today)
        if c.checked_out_at is None
    ]


async def checkout(update: Update, context: Context) -> None:
    """End the day: a short evaluation for the coordinator."""
    chat_id = chat_id_of(update)
    await answer_reading_first(
        update, context, lambda uow, may_write: _checkout(uow, chat_id, may_write=may_write)
    )


async def _checkout(uow: Unit, chat_id: int, *, may_write: bool) -> list[Reply] | None:
    """The answer to /checkout; None when the evaluation is to begin and `may_write` is off."""
    open_checkins = await _open_checkins(uow)
    if not open_checkins:
        return [Reply("checkout.not_checked_in")]
    if not may_write:
        return None
    choices = []
    for c in open_checkins:
        exchange = await exchanges.load_exchange(uow.session, c.exchange_id)
        assert exchange is not None
        choices.append((c.id, exchanges.label(exchange)))
    dialog = await start_dialog(
        uow, chat_id, kind=CHECKOUT, choices=choices, key="checkin", first_step="rating"
    )
    return [await _checkout_question(uow, dialog)]


async def _checkout_step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    return Turn(await _checkout_replies(uow, dialog, value, typed=how == TEXT))


async def _checkout_replies(uow: Unit, dialog: Dialog, value: str, *, typed: bool) -> list[Reply]:
    now = uow.app.clock.now()
    step = dialog.step
    if typed and step in ("tension_note", "remarks"):
        # Kept whole: a long evaluation is split when shown, never cut (bot/delivery.py).
        text = " ".join(value.split())
        if not text:
            return [await _checkout_question(uow, dialog)]
        if step == "tension_note":
            store.advance(dialog, "remarks", now, {"tension_note": text})
            return [await _checkout_question(uow, dialog)]
        return await _finish_checkout(uow, dialog, text)
    if typed:
        return [Reply("common.use_buttons"), await _checkout_question(uow, dialog)]
    picked = store.chosen(dialog, value)
    if step == "exchange" and picked is not None:
        store.advance(dialog, "rating", now, {"checkin": picked})
        return [await _checkout_question(uow, dialog)]
    if step == "rating" and value in {f"r:{n}" for n in range(1, 6)}:
        store.advance(dialog, "tension", now, {"rating": int(value[2:])})
        return [await _checkout_question(uow, dialog)]
    if step == "tension" and value in ("t:yes", "t:no"):
        tension = value == "t:yes"
        next_step = "tension_note" if tension else "remarks"
        store.advance(dialog, next_step, now, {"tension": tension})
        return [await _checkout_question(uow, dialog)]
    if step == "remarks" and value == "none":
        return await _finish_checkout(uow, dialog, None)
    return [Reply("common.button_expired")]


async def _finish_checkout(uow: Unit, dialog: Dialog, remarks: str | None) -> list[Reply]:
    answers = data.checkout(dialog)
    row = await checkins.checkin_by_id(uow.session, answers["checkin"], uow.user.id)
    await store.finish(uow.session, dialog.chat_id)
    if row is None:
        return [Reply("checkout.not_checked_in")]
    await checkins.check_out(
        uow.session,
        row,
        rating=answers["rating"],
        tension=answers["tension"],
        tension_note=answers.get("tension_note"),
        remarks=remarks,
        now=uow.app.clock.now(),
    )
    return [Reply("checkout.done")]


# -- "Ik kan niet": a begeleider (or teacher) who cannot come on an exchange day ------------

# Why a tap on an absence button did nothing, as the toast says it.
_REFUSED = {
    "not_allowed": "auth.not_allowed",
    "archived": "auth.archived",
    "over": "absence.over",
}


def _day_params(uow: Unit, result: absences.AbsenceResult) -> dict[str, object]:
    assert result.exchange is not None and result.day is not None
    programme = uow.app.programmes[result.exchange.programme_key]
    return {
        "phase": programme.phase(result.day.phase_key).name,
        "when": day_and_time(uow.lang, programme, result.day),
        "id": result.exchange.id,
        "title": exchanges.title(result.exchange),
    }


def _pressed(update: Update, prefix: str) -> tuple[int | None, str]:
    query = update.callback_query
    assert query is not None and query.data is not None
    return parse_absence(query.data, prefix)


async def _without_pressed_button(update: Update, context: Context) -> None:
    """Take the pressed button off its message and leave the others (a digest keeps its
    checklist)."""
    query = update.callback_query
    message = query.message if query is not None else None
    markup = getattr(message, "reply_markup", None)
    if query is None or not isinstance(markup, InlineKeyboardMarkup):
        return
    kept = [
        list(row)
        for row in markup.inline_keyboard
        if all(b.callback_data != query.data for b in row)
    ]
    await edit_pressed(update, context, reply_markup=InlineKeyboardMarkup(kept) if kept else None)


async def absence_asked(update: Update, context: Context) -> None:
    """ "Ik kan niet": ask to confirm before the coordinator is told (a slip costs nothing)."""
    exchange_id, phase_key = _pressed(update, ABSENCE_PREFIX)
    async with reading(update, context) as uow:
        lang = uow.lang
        result = absences.AbsenceResult("not_allowed")
        if exchange_id is not None:
            result = await absences.check(
                uow.session,
                uow.user,
                exchange_id,
                phase_key,
                programmes=uow.app.programmes,
                today=uow.app.today(),
            )
        question = (
            Reply(
                "absence.ask",
                _day_params(uow, result),
                buttons=(
                    (
                        Btn(
                            absence(ABSENCE_YES_PREFIX, exchange_id, phase_key),
                            key="absence.btn_yes",
                        ),
                    ),
                    (
                        Btn(
                            absence(ABSENCE_NO_PREFIX, exchange_id, phase_key), key="absence.btn_no"
                        ),
                    ),
                ),
            )
            if result.outcome == "recorded" and exchange_id is not None
            else None
        )
    if question is None:
        await answer_callback(update, context, lang, _REFUSED.get(result.outcome))
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, [question])


async def absence_kept(update: Update, context: Context) -> None:
    """ "Nee, ik kom wel": nothing changes; the question says so."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await answer_callback(update, context, lang)
    app = app_context(context)
    await edit_pressed(update, context, text=app.texts.get(lang, "absence.kept"))


async def _absence_change(update: Update, context: Context, *, absent: bool) -> None:
    prefix = ABSENCE_YES_PREFIX if absent else ABSENCE_UNDO_PREFIX
    exchange_id, phase_key = _pressed(update, prefix)
    reply: Reply | None = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        result = absences.AbsenceResult("not_allowed")
        if exchange_id is not None:
            change = absences.report if absent else absences.withdraw
            result = await change(
                uow.session,
                uow.user,
                exchange_id,
                phase_key,
                programmes=uow.app.programmes,
                today=uow.app.today(),
                now=uow.app.clock.now(),
            )
        if result.outcome in ("recorded", "unchanged") and exchange_id is not None:
            key = {
                (True, "recorded"): "absence.done",
                (True, "unchanged"): "absence.already",
                (False, "recorded"): "absence.undone",
                (False, "unchanged"): "absence.not_absent",
            }[(absent, result.outcome)]
            undo = (
                (
                    (
                        Btn(
                            absence(ABSENCE_UNDO_PREFIX, exchange_id, phase_key),
                            key="absence.btn_undo",
                        ),
                    ),
                )
                if absent
                else ()
            )
            reply = Reply(key, _day_params(uow, result), buttons=undo)
    if reply is None:
        await answer_callback(update, context, lang, _REFUSED.get(result.outcome))
        return
    await answer_callback(update, context, lang)
    if absent:
        # The confirmation becomes the outcome, with "Toch wel" under it.
        app = app_context(context)
        await edit_pressed(
            update,
            context,
            text=render.text(app.texts, lang, reply),
            reply_markup=render.keyboard(app.texts, lang, reply.buttons),
        )
    else:
        await _without_pressed_button(update, context)
        await send(update, context, lang, [reply])
    if result.outcome == "recorded":
        kick(context.application)


async def absence_confirmed(update: Update, context: Context) -> None:
    """ "Klopt, ik kan niet": stored, and the coordinator hears it at once."""
    await _absence_change(update, context, absent=True)


async def absence_undone(update: Update, context: Context) -> None:
    """ "Ik kan toch wel": the absence is taken back, and the coordinator hears it."""
    await _absence_change(update, context, absent=False)


def register(app: BotApplication) -> None:
    # Before every other group: the location keyboard goes once the person does anything else.
    app.add_handler(TypeHandler(Update, location_keyboard_done), group=-2)
    app.add_handler(CallbackQueryHandler(absence_asked, pattern=action_pattern(ABSENCE_PREFIX)))
    app.add_handler(CallbackQueryHandler(absence_kept, pattern=action_pattern(ABSENCE_NO_PREFIX)))
    app.add_handler(
        CallbackQueryHandler(absence_confirmed, pattern=action_pattern(ABSENCE_YES_PREFIX))
    )
    app.add_handler(
        CallbackQueryHandler(absence_undone, pattern=action_pattern(ABSENCE_UNDO_PREFIX))
    )
    app.add_handler(CommandHandler("checkin", checkin))
    app.add_handler(CommandHandler("checkout", checkout))
    app.add_handler(CallbackQueryHandler(checkin_chosen, pattern=action_pattern(CHECKIN_PREFIX)))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.LOCATION, location))
    register_dialog(
        app, Conversation(CHECKOUT, _checkout_step, _checkout_question, prefix=CHECKOUT_PREFIX)
    )
