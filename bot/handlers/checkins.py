"""On the exchange day: /checkin (with an optional location) and /checkout with its evaluation."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotApplication
from bot.domain.dates import format_time
from bot.domain.numbers import read_int
from bot.handlers.common import (
    TEXT,
    Context,
    Unit,
    answer_callback,
    chat_id_of,
    choice_buttons,
    clear_buttons,
    dialog_button,
    dialog_text,
    exchange_buttons,
    exchange_page,
    register_dialog,
    send,
    start_dialog,
    unit_of_work,
)
from bot.services import checkins, dialogs, exchanges
from bot.services.checkins import DayOfExchange
from bot.texts import Markup
from bot.ui.callbacks import (
    CHECKIN_PREFIX,
    CHECKOUT_PREFIX,
    action_pattern,
    button_data,
    button_id,
    dialog_pattern,
    page_of,
)
from bot.ui.outbox import day_line
from bot.ui.replies import Btn, Reply
from db.models import Dialog, Exchange

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


async def checkin(update: Update, context: Context) -> None:
    """Mark the begeleider present on today's exchange day."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        days = await checkins.days_today(uow.session, uow.user, uow.app.programmes, uow.app.today())
        if not days:
            replies = [await not_today(uow)]
        elif len(days) == 1:
            replies = await _check_in(uow, days[0])
        else:
            replies = [_choose(CHECKIN_PREFIX, days, "checkin.choose")]
    await send(update, context, lang, replies)


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
    await send(update, context, lang, replies)


async def location(update: Update, context: Context) -> None:
    """Store a shared location with today's check-in."""
    message = update.effective_message
    assert message is not None and message.location is not None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        row = await checkins.todays_checkin(uow.session, uow.user.id, uow.app.today())
        if row is not None:
            row.latitude = message.location.latitude
            row.longitude = message.location.longitude
    key = "checkin.location_saved" if row is not None else "checkin.location_without_checkin"
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


async def checkout(update: Update, context: Context) -> None:
    """End the day: a short evaluation for the coordinator."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        today = uow.app.today()
        open_checkins = [
            c
            for c in await checkins.checkins_of(uow.session, uow.user.id, today)
            if c.checked_out_at is None
        ]
        if not open_checkins:
            replies = [Reply("checkout.not_checked_in")]
        else:
            choices = []
            for c in open_checkins:
                exchange = await exchanges.load_exchange(uow.session, c.exchange_id)
                assert exchange is not None
                choices.append((c.id, exchanges.label(exchange)))
            dialog = await start_dialog(
                uow,
                chat_id_of(update),
                kind=CHECKOUT,
                choices=choices,
                key="checkin",
                first_step="rating",
            )
            replies = [await _checkout_question(uow, dialog)]
    await send(update, context, lang, replies)


async def _checkout_step(
    uow: Unit, dialog: Dialog, value: str, how: str
) -> tuple[list[Reply], bool]:
    return await _checkout_replies(uow, dialog, value, typed=how == TEXT), False


async def _checkout_replies(uow: Unit, dialog: Dialog, value: str, *, typed: bool) -> list[Reply]:
    now = uow.app.clock.now()
    step = dialog.step
    if typed and step in ("tension_note", "remarks"):
        # Kept whole: a long evaluation is split when shown, never cut (bot/delivery.py).
        text = " ".join(value.split())
        if not text:
            return [await _checkout_question(uow, dialog)]
        if step == "tension_note":
            dialogs.advance(dialog, "remarks", now, tension_note=text)
            return [await _checkout_question(uow, dialog)]
        return await _finish_checkout(uow, dialog, text)
    if typed:
        return [Reply("new.use_buttons"), await _checkout_question(uow, dialog)]
    picked = dialogs.chosen(dialog, value)
    if step == "exchange" and picked is not None:
        dialogs.advance(dialog, "rating", now, checkin=picked)
        return [await _checkout_question(uow, dialog)]
    if step == "rating" and value in {f"r:{n}" for n in range(1, 6)}:
        dialogs.advance(dialog, "tension", now, rating=read_int(value[2:], lo=1, hi=5))
        return [await _checkout_question(uow, dialog)]
    if step == "tension" and value in ("t:yes", "t:no"):
        tension = value == "t:yes"
        dialogs.advance(dialog, "tension_note" if tension else "remarks", now, tension=tension)
        return [await _checkout_question(uow, dialog)]
    if step == "remarks" and value == "none":
        return await _finish_checkout(uow, dialog, None)
    return [Reply("common.button_expired")]


async def _finish_checkout(uow: Unit, dialog: Dialog, remarks: str | None) -> list[Reply]:
    data = dialog.data
    row = await checkins.checkin_by_id(uow.session, data["checkin"], uow.user.id)
    await dialogs.finish(uow.session, dialog.chat_id)
    if row is None:
        return [Reply("checkout.not_checked_in")]
    await checkins.check_out(
        uow.session,
        row,
        rating=data["rating"],
        tension=data["tension"],
        tension_note=data.get("tension_note"),
        remarks=remarks,
        now=uow.app.clock.now(),
    )
    return [Reply("checkout.done")]


async def checkout_typed(update: Update, context: Context) -> None:
    """A typed answer in the check-out conversation."""
    await dialog_text(update, context, kind=CHECKOUT, step=_checkout_step, ask=_checkout_question)


async def checkout_button(update: Update, context: Context) -> None:
    """A button of the check-out conversation."""
    await dialog_button(
        update,
        context,
        prefix=CHECKOUT_PREFIX,
        kind=CHECKOUT,
        step=_checkout_step,
        ask=_checkout_question,
    )


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("checkin", checkin))
    app.add_handler(CommandHandler("checkout", checkout))
    app.add_handler(CallbackQueryHandler(checkin_chosen, pattern=action_pattern(CHECKIN_PREFIX)))
    app.add_handler(CallbackQueryHandler(checkout_button, pattern=dialog_pattern(CHECKOUT_PREFIX)))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.LOCATION, location))
    register_dialog(app, CHECKOUT, checkout_typed)
