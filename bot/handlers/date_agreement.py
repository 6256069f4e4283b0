"""/datum: a teacher proposes a date for an exchange day or the closing; the other side agrees.

A coordinator's choice is final at once. The conversation is kept in the database (kind
"date"); each answer is checked before it moves on, and nothing changes until the end.
"""

from __future__ import annotations

from datetime import date, time

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
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
from bot.domain.numbers import read_clock, read_day, read_id
from bot.domain.timeline import phase_window
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    chat_id_of,
    clear_buttons,
    send,
    unit_of_work,
)
from bot.jobs.outbox import kick
from bot.menus import aliases
from bot.services import auth, date_agreement, exchanges, outbox
from bot.ui import views
from bot.ui.callbacks import (
    ACCEPT_PREFIX,
    DATE_PREFIX,
    DATE_START_PREFIX,
    OTHER_PREFIX,
    action_pattern,
    button_data,
    button_id,
)
from bot.ui.replies import Btn, Reply, rows
from db.models import ROLE_TEACHER, Dialog, Exchange

KIND = "date"


def _data(dialog: Dialog, value: str) -> str:
    return button_data(DATE_PREFIX, dialog, value)


async def _school_holidays(uow: Unit, exchange: Exchange) -> tuple[tuple[date, date], ...]:
    return await outbox.holidays_for(uow.session, exchange.region)


async def _question(uow: Unit, dialog: Dialog) -> Reply:
    """The question of the dialog's current step, with its buttons."""
    answers = data.date(dialog)
    if dialog.step == "exchange":
        return Reply("date_agreement.choose_exchange", buttons=choice_buttons(DATE_PREFIX, dialog))
    exchange = await exchanges.load_exchange(uow.session, answers["exchange"])
    assert exchange is not None
    programme = uow.app.programmes[exchange.programme_key]
    if dialog.step == "phase":
        buttons = []
        for key in date_agreement.day_phase_keys(exchange, programme):
            row = date_agreement.phase_row(exchange, key)
            buttons.append(
                Btn(
                    _data(dialog, f"p:{key}"),
                    key="date_agreement.btn_phase_agreed"
                    if row.agreed
                    else "date_agreement.btn_phase",
                    params={"phase": programme.phase(key).name, "date": row.starts_on},
                )
            )
        return Reply(
            "date_agreement.choose_phase",
            {"title": exchanges.title(exchange)},
            buttons=rows(buttons, 1),
        )
    phase = programme.phase(answers["phase"])
    if dialog.step == "day":
        first, last = phase_window(programme, phase.key, exchange.start_date)
        days = date_agreement.choices(
            exchange,
            programme,
            phase.key,
            today=uow.app.today(),
            school_holidays=await _school_holidays(uow, exchange),
        )
        buttons = [
            Btn(
                _data(dialog, f"d:{d.isoformat()}"), key="date_agreement.btn_day", params={"day": d}
            )
            for d in days
        ]
        key = "date_agreement.ask_day" if days else "date_agreement.no_days"
        return Reply(
            key, {"phase": phase.name, "first": first, "last": last}, buttons=rows(buttons, 2)
        )
    if dialog.step == "time":
        current = (
            date_agreement.phase_row(exchange, phase.key).start_time or phase.default_start_time
        )
        buttons = []
        if current is not None:
            buttons.append(
                Btn(_data(dialog, f"t:{current.strftime('%H%M')}"), label=format_time(current))
            )
        return Reply(
            "date_agreement.ask_time",
            {"phase": phase.name, "day": date.fromisoformat(answers["day"])},
            buttons=rows(buttons, 1),
        )
    raise ValueError(dialog.step)


async def _candidates(uow: Unit) -> list[Exchange]:
    """The exchanges whose dates the user may set or propose."""
    return [
        e
        for e in await exchanges.visible_exchanges(uow.session, uow.user)
        if uow.user.is_coordinator
        or ROLE_TEACHER in await auth.exchange_roles(uow.session, uow.user.id, e.id)
    ]


async def begin(update: Update, context: Context) -> None:
    """Start agreeing a date: choose the exchange (if several) and the phase."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        candidates = await _candidates(uow)
        chat_id = chat_id_of(update)
        if not candidates:
            replies = [Reply("date_agreement.none")]
        else:
            choices = [(e.id, exchanges.label(e)) for e in candidates]
            dialog = await start_dialog(
                uow, chat_id, kind=KIND, choices=choices, first_step="phase"
            )
            replies = [await _question(uow, dialog)]
    await send(update, context, lang, replies)


async def begin_for(update: Update, context: Context) -> None:
    """Start agreeing a date for the exchange whose button was pressed (in the welcome, a
    digest, a reminder or the answer to free text): straight to choosing the phase."""
    query = update.callback_query
    assert query is not None
    exchange_id = button_id(query.data, DATE_START_PREFIX)
    replies: list[Reply] = []
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        chosen = [e for e in await _candidates(uow) if e.id == exchange_id]
        if chosen:
            dialog = await start_dialog(
                uow,
                chat_id_of(update),
                kind=KIND,
                choices=[(chosen[0].id, exchanges.label(chosen[0]))],
                first_step="phase",
            )
            replies = [await _question(uow, dialog)]
    if not replies:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, replies)


async def _finish(uow: Unit, dialog: Dialog, start: time) -> Turn:
    """Store the choice (the service checks it all again): a proposal, or a decision."""
    answers = data.date(dialog)
    result = await date_agreement.set_date(
        uow.session,
        uow.user,
        answers["exchange"],
        answers["phase"],
        date.fromisoformat(answers["day"]),
        start,
        programmes=uow.app.programmes,
        rules=uow.app.rules,
        today=uow.app.today(),
        now=uow.app.clock.now(),
    )
    await store.finish(uow.session, dialog.chat_id)
    exchange = await exchanges.load_exchange(uow.session, answers["exchange"])
    assert exchange is not None
    params = {
        "phase": uow.app.programmes[exchange.programme_key].phase(result.phase_key).name,
        "day": result.day,
        "time": result.start,
    }
    extra: dict[str, object] = {}
    if result.decided:
        key, later = "date_agreement.set", "date_agreement.set_later"
    elif result.names:
        key, later = "date_agreement.proposed", "date_agreement.proposed_later"
        extra["names"] = ", ".join(result.names)
    else:
        key, later = (
            "date_agreement.proposed_to_coordinator",
            "date_agreement.proposed_to_coordinator_later",
        )
    reply = views.sent_or_waiting(
        key, later, {**params, **extra}, arrives=result.arrives, tz=uow.app.settings.tz
    )
    return Turn([reply], queued=True)


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """Apply one answer (a button value or typed text) to the current step."""
    typed = how == TEXT
    now = uow.app.clock.now()
    step = dialog.step
    picked = None if typed else store.chosen(dialog, value)
    if step == "exchange" and picked is not None:
        store.advance(dialog, "phase", now, {"exchange": picked})
        return Turn([await _question(uow, dialog)])
    if step == "phase" and not typed and value.startswith("p:"):
        exchange = await exchanges.load_exchange(uow.session, data.date(dialog)["exchange"])
        assert exchange is not None
        if value[2:] in date_agreement.day_phase_keys(
            exchange, uow.app.programmes[exchange.programme_key]
        ):
            store.advance(dialog, "day", now, {"phase": value[2:]})
            return Turn([await _question(uow, dialog)])
    if step == "day":
        exchange = await exchanges.load_exchange(uow.session, data.date(dialog)["exchange"])
        assert exchange is not None
        if typed:
            day = date_agreement.parse_day(value, uow.app.today())
        elif value.startswith("d:") and (pressed_day := read_day(value[2:])) is not None:
            day = pressed_day
        else:
            return Turn([Reply("common.button_expired")])
        date_agreement.check_day(
            exchange,
            uow.app.programmes[exchange.programme_key],
            data.date(dialog)["phase"],
            day,
            today=uow.app.today(),
            school_holidays=await _school_holidays(uow, exchange),
        )
        store.advance(dialog, "time", now, {"day": day.isoformat()})
        return Turn([await _question(uow, dialog)])
    if step == "time":
        if typed:
            start = date_agreement.parse_start(value)
        elif value.startswith("t:") and (pressed_time := read_clock(value[2:])) is not None:
            start = pressed_time
        else:
            return Turn([Reply("common.button_expired")])
        return await _finish(uow, dialog, start)
    if typed:
        return Turn([Reply("common.use_buttons"), await _question(uow, dialog)])
    return Turn([Reply("common.button_expired")])


async def decide(update: Update, context: Context) -> None:
    """Accept a proposed date, or ask for another one."""
    query = update.callback_query
    assert query is not None and query.data is not None
    accept = query.data.startswith(ACCEPT_PREFIX)
    proposal_id = read_id(query.data[len(ACCEPT_PREFIX if accept else OTHER_PREFIX) :])
    replies: list[Reply] = []
    toast = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            answer = (
                await date_agreement.answer_proposal(
                    uow.session,
                    uow.user,
                    proposal_id,
                    accept=accept,
                    programmes=uow.app.programmes,
                    rules=uow.app.rules,
                    today=uow.app.today(),
                    now=uow.app.clock.now(),
                )
                if proposal_id is not None
                else date_agreement.Answer(date_agreement.Outcome.GONE)
            )
        except auth.NotAllowed as refusal:
            toast = refusal.key
        else:
            replies, toast = await _answer_replies(update, uow, answer)
    if toast is not None:
        await answer_callback(update, context, lang, toast)
        await clear_buttons(update)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update)
    await send(update, context, lang, replies)
    kick(context.application)


async def _answer_replies(
    update: Update, uow: Unit, answer: date_agreement.Answer
) -> tuple[list[Reply], str | None]:
    """What the one who answered a proposal sees (replies, or a toast)."""
    outcome = date_agreement.Outcome
    if answer.outcome is outcome.GONE:
        return [], "date_agreement.already_decided"
    if answer.outcome is outcome.ALREADY_ACCEPTED:
        return [], "date_agreement.already_accepted"
    if answer.outcome is outcome.ALREADY_DECLINED:
        return [], "date_agreement.already_declined"
    assert answer.exchange_id is not None and answer.phase_key is not None
    if answer.outcome is outcome.IMPOSSIBLE:
        assert answer.problem is not None
        problem = answer.problem
        return [
            Reply(problem.key, problem.params),
            Reply("date_agreement.no_longer_possible"),
        ], None
    exchange = await exchanges.load_exchange(uow.session, answer.exchange_id)
    assert exchange is not None
    tz = uow.app.settings.tz
    if answer.outcome is outcome.ACCEPTED:
        phase = uow.app.programmes[exchange.programme_key].phase(answer.phase_key)
        reply = views.sent_or_waiting(
            "date_agreement.accepted",
            "date_agreement.accepted_later",
            {"phase": phase.name, "day": answer.day},
            arrives=answer.arrives,
            tz=tz,
        )
        return [reply], None
    # Declined: the one who declined proposes another day straight away.
    dialog = await store.start(
        uow.session,
        chat_id=chat_id_of(update),
        user_id=uow.user.id,
        kind=KIND,
        step="day",
        data={"choices": [], "exchange": exchange.id, "phase": answer.phase_key},
        now=uow.app.clock.now(),
    )
    replies = [await _question(uow, dialog)]
    if answer.arrives is not None:
        # The proposer hears of it only when quiet hours end: say so, before the question.
        notice = {"name": answer.proposer or ""}
        replies.insert(
            0, views.waiting("date_agreement.declined_later", notice, answer.arrives, tz)
        )
    return replies, None


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("datum"), begin))
    app.add_handler(CallbackQueryHandler(begin_for, pattern=action_pattern(DATE_START_PREFIX)))
    app.add_handler(
        CallbackQueryHandler(decide, pattern=action_pattern(ACCEPT_PREFIX, OTHER_PREFIX))
    )
    register_dialog(app, Conversation(KIND, _step, _question, prefix=DATE_PREFIX))
