"""/datum: a teacher proposes a date for an exchange day or the closing; the other side agrees.

A coordinator's choice is final at once. The conversation is kept in the database (kind
"date"); each answer is checked before it moves on, and nothing changes until the end.
"""

from __future__ import annotations

from datetime import date, time

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.domain.dates import format_time
from bot.domain.exchange_input import InputError
from bot.domain.permissions import Action
from bot.domain.timeline import phase_window
from bot.handlers.common import (
    TEXT,
    Context,
    Unit,
    answer_callback,
    clear_buttons,
    dialog_button,
    dialog_text,
    register_dialog,
    send,
    start_dialog,
    unit_of_work,
)
from bot.jobs.dispatcher import kick
from bot.menus import aliases
from bot.notifications import ACCEPT_PREFIX, OTHER_PREFIX
from bot.replies import Btn, Reply, rows
from bot.services import agreements, auth, dialogs, exchanges, outbox
from db.models import ROLE_TEACHER, Dialog, Exchange

KIND = "date"
PREFIX = "dt"
MAX_CHOICE_BUTTONS = 30


def _data(dialog: Dialog, value: str) -> str:
    return f"{PREFIX}:{dialog.version}:{value}"


async def _may_set(uow: Unit, exchange_id: int) -> tuple[Exchange, str | None, bool]:
    """The exchange, the user's side, and whether they decide alone (coordinator)."""
    try:
        exchange = await auth.require_exchange(uow.session, uow.user, Action.SET_DATE, exchange_id)
        return exchange, None, True
    except auth.NotAllowed:
        exchange = await auth.require_exchange(
            uow.session, uow.user, Action.PROPOSE_DATE, exchange_id
        )
    teacher = next(
        m
        for m in await exchanges.memberships_of(uow.session, uow.user.id, exchange_id)
        if m.role == ROLE_TEACHER
    )
    return exchange, teacher.side, False


async def _school_holidays(uow: Unit, exchange: Exchange) -> tuple[tuple[date, date], ...]:
    return await outbox.holidays_for(uow.session, exchange.region)


async def _question(uow: Unit, dialog: Dialog) -> Reply:
    """The question of the dialog's current step, with its buttons."""
    data = dialog.data
    if dialog.step == "exchange":
        buttons = [
            Btn(_data(dialog, f"x:{exchange_id}"), label=label)
            for exchange_id, label in data["choices"]
        ]
        return Reply("dates.choose_exchange", buttons=rows(buttons, 1))
    exchange = await exchanges.load_exchange(uow.session, data["exchange"])
    assert exchange is not None
    programme = uow.app.programmes[exchange.programme_key]
    if dialog.step == "phase":
        buttons = []
        for key in agreements.day_phase_keys(exchange, programme):
            row = agreements.phase_row(exchange, key)
            buttons.append(
                Btn(
                    _data(dialog, f"p:{key}"),
                    key="dates.btn_phase_agreed" if row.agreed else "dates.btn_phase",
                    params={"phase": programme.phase(key).name, "date": row.starts_on},
                )
            )
        return Reply(
            "dates.choose_phase", {"title": exchanges.title(exchange)}, buttons=rows(buttons, 1)
        )
    phase = programme.phase(data["phase"])
    if dialog.step == "day":
        first, last = phase_window(programme, phase.key, exchange.start_date)
        days = agreements.choices(
            exchange,
            programme,
            phase.key,
            today=uow.app.today(),
            school_holidays=await _school_holidays(uow, exchange),
        )
        buttons = [
            Btn(_data(dialog, f"d:{d.isoformat()}"), key="dates.btn_day", params={"day": d})
            for d in days
        ]
        key = "dates.ask_day" if days else "dates.no_days"
        return Reply(
            key, {"phase": phase.name, "first": first, "last": last}, buttons=rows(buttons, 2)
        )
    if dialog.step == "time":
        current = agreements.phase_row(exchange, phase.key).start_time or phase.default_start_time
        buttons = []
        if current is not None:
            buttons.append(
                Btn(_data(dialog, f"t:{current.strftime('%H%M')}"), label=format_time(current))
            )
        return Reply(
            "dates.ask_time",
            {"phase": phase.name, "day": date.fromisoformat(data["day"])},
            buttons=rows(buttons, 1),
        )
    raise ValueError(dialog.step)


async def begin(update: Update, context: Context) -> None:
    """Start agreeing a date: choose the exchange (if several) and the phase."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        candidates = [
            e
            for e in await exchanges.visible_exchanges(uow.session, uow.user)
            if uow.user.is_coordinator
            or ROLE_TEACHER in await auth.exchange_roles(uow.session, uow.user.id, e.id)
        ]
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        if not candidates:
            replies = [Reply("dates.none")]
        else:
            choices = [(e.id, exchanges.label(e)) for e in candidates]
            dialog = await start_dialog(
                uow,
                chat_id,
                kind=KIND,
                choices=choices[:MAX_CHOICE_BUTTONS],
                key="exchange",
                first_step="phase",
            )
            replies = [await _question(uow, dialog)]
    await send(update, context, lang, replies)


async def _finish(uow: Unit, dialog: Dialog, start: time) -> tuple[list[Reply], bool]:
    """Check the whole choice again and store it: a proposal, or a coordinator's decision."""
    data = dialog.data
    exchange, side, decides = await _may_set(uow, data["exchange"])
    exchange = await exchanges.load_exchange(uow.session, exchange.id)
    assert exchange is not None
    programme = uow.app.programmes[exchange.programme_key]
    day = date.fromisoformat(data["day"])
    agreements.check_day(
        exchange,
        programme,
        data["phase"],
        day,
        today=uow.app.today(),
        school_holidays=await _school_holidays(uow, exchange),
    )
    now = uow.app.clock.now()
    phase_name = programme.phase(data["phase"]).name
    await dialogs.finish(uow.session, dialog.chat_id)
    if decides:
        agreements.apply_date(exchange, data["phase"], day, start)
        await uow.session.flush()
        await outbox.replan_exchange(
            uow.session, exchange.id, uow.app.programmes, uow.app.rules, now=now
        )
        await _notify_agreed(uow, exchange, data["phase"], exclude=uow.user.id)
        return [Reply("dates.set", {"phase": phase_name, "day": day, "time": start})], True
    proposal = await agreements.propose(
        uow.session, exchange, data["phase"], day, start, user_id=uow.user.id, side=side, now=now
    )
    others = [m.user for m in exchange.memberships if m.role == ROLE_TEACHER and m.side != side]
    recipients = [u.id for u in others] or [
        u.id for u in await agreements.coordinators_of(uow.session, exchange)
    ]
    for user_id in recipients:
        await outbox.enqueue(
            uow.session,
            user_id=user_id,
            exchange_id=exchange.id,
            kind="date_proposal",
            dedupe_key=f"proposal:{proposal.id}:{user_id}",
            payload={"proposal": proposal.id},
            now=now,
        )
    key = "dates.proposed" if others else "dates.proposed_to_coordinator"
    names = ", ".join(u.display_name for u in others)
    return [Reply(key, {"phase": phase_name, "day": day, "time": start, "names": names})], True


async def _notify_agreed(uow: Unit, exchange: Exchange, phase_key: str, *, exclude: int) -> None:
    """Tell both classes' teachers and the coordinator that a date is fixed."""
    now = uow.app.clock.now()
    people = {m.user_id for m in exchange.memberships if m.role == ROLE_TEACHER}
    people |= {u.id for u in await agreements.coordinators_of(uow.session, exchange)}
    for user_id in sorted(people - {exclude}):
        await outbox.enqueue(
            uow.session,
            user_id=user_id,
            exchange_id=exchange.id,
            kind="date_agreed",
            dedupe_key=f"agreed:{exchange.id}:{phase_key}:{user_id}:{now.isoformat()}",
            payload={"phase": phase_key},
            now=now,
        )


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> tuple[list[Reply], bool]:
    """Apply one answer (a button value or typed text) to the current step."""
    typed = how == TEXT
    now = uow.app.clock.now()
    step = dialog.step
    picked = None if typed else dialogs.chosen(dialog, value)
    if step == "exchange" and picked is not None:
        dialogs.advance(dialog, "phase", now, exchange=picked)
        return [await _question(uow, dialog)], False
    if step == "phase" and not typed and value.startswith("p:"):
        exchange = await exchanges.load_exchange(uow.session, dialog.data["exchange"])
        assert exchange is not None
        if value[2:] in agreements.day_phase_keys(
            exchange, uow.app.programmes[exchange.programme_key]
        ):
            dialogs.advance(dialog, "day", now, phase=value[2:])
            return [await _question(uow, dialog)], False
    if step == "day":
        exchange = await exchanges.load_exchange(uow.session, dialog.data["exchange"])
        assert exchange is not None
        if typed:
            day = agreements.parse_day(value, uow.app.today())
        elif value.startswith("d:"):
            day = date.fromisoformat(value[2:])
        else:
            return [Reply("common.button_expired")], False
        agreements.check_day(
            exchange,
            uow.app.programmes[exchange.programme_key],
            dialog.data["phase"],
            day,
            today=uow.app.today(),
            school_holidays=await _school_holidays(uow, exchange),
        )
        dialogs.advance(dialog, "time", now, day=day.isoformat())
        return [await _question(uow, dialog)], False
    if step == "time":
        if typed:
            start = agreements.parse_start(value)
        elif value.startswith("t:") and len(value) == 6 and value[2:].isdigit():
            start = time(int(value[2:4]), int(value[4:6]))
        else:
            return [Reply("common.button_expired")], False
        return await _finish(uow, dialog, start)
    if typed:
        return [Reply("new.use_buttons"), await _question(uow, dialog)], False
    return [Reply("common.button_expired")], False


async def typed_answer(update: Update, context: Context) -> None:
    """A typed date or time in the /datum conversation."""
    await dialog_text(update, context, kind=KIND, step=_step, ask=_question)


async def button(update: Update, context: Context) -> None:
    """A pressed button in the /datum conversation."""
    await dialog_button(update, context, prefix=PREFIX, kind=KIND, step=_step, ask=_question)


async def decide(update: Update, context: Context) -> None:
    """Accept a proposed date, or ask for another one."""
    query = update.callback_query
    assert query is not None and query.data is not None
    accept = query.data.startswith(ACCEPT_PREFIX)
    raw = query.data[len(ACCEPT_PREFIX if accept else OTHER_PREFIX) :]
    replies: list[Reply] = []
    toast = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        now = uow.app.clock.now()
        proposal = (
            await agreements.pending_proposal(uow.session, int(raw)) if raw.isdigit() else None
        )
        if proposal is None:
            toast = "dates.already_decided"
        else:
            exchange = await exchanges.load_exchange(uow.session, proposal.exchange_id)
            assert exchange is not None
            roles = await exchanges.memberships_of(uow.session, uow.user.id, exchange.id)
            other_side = any(m.role == ROLE_TEACHER and m.side != proposal.side for m in roles)
            if not (other_side or uow.user.is_coordinator):
                toast = "auth.not_allowed"
            elif accept:
                programme = uow.app.programmes[exchange.programme_key]
                try:
                    agreements.check_day(
                        exchange,
                        programme,
                        proposal.phase_key,
                        proposal.day,
                        today=uow.app.today(),
                        school_holidays=await _school_holidays(uow, exchange),
                    )
                except InputError as problem:
                    agreements.decide(proposal, accepted=False, user_id=uow.user.id, now=now)
                    replies = [
                        Reply(problem.key, problem.params),
                        Reply("dates.no_longer_possible"),
                    ]
                else:
                    agreements.decide(proposal, accepted=True, user_id=uow.user.id, now=now)
                    agreements.apply_date(
                        exchange, proposal.phase_key, proposal.day, proposal.start_time
                    )
                    await uow.session.flush()
                    await outbox.replan_exchange(
                        uow.session, exchange.id, uow.app.programmes, uow.app.rules, now=now
                    )
                    await _notify_agreed(uow, exchange, proposal.phase_key, exclude=uow.user.id)
                    replies = [
                        Reply(
                            "dates.accepted",
                            {
                                "phase": programme.phase(proposal.phase_key).name,
                                "day": proposal.day,
                            },
                        )
                    ]
            else:
                agreements.decide(proposal, accepted=False, user_id=uow.user.id, now=now)
                if proposal.proposed_by is not None:
                    await outbox.enqueue(
                        uow.session,
                        user_id=proposal.proposed_by,
                        exchange_id=exchange.id,
                        kind="date_declined",
                        dedupe_key=f"declined:{proposal.id}",
                        payload={"phase": proposal.phase_key, "by": uow.user.display_name},
                        now=now,
                    )
                chat_id = update.effective_chat.id  # type: ignore[union-attr]
                dialog = await dialogs.start(
                    uow.session,
                    chat_id=chat_id,
                    user_id=uow.user.id,
                    kind=KIND,
                    step="day",
                    data={"choices": [], "exchange": exchange.id, "phase": proposal.phase_key},
                    now=now,
                )
                replies = [await _question(uow, dialog)]
    if toast is not None:
        await answer_callback(update, context, lang, toast)
        await clear_buttons(update)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update)
    await send(update, context, lang, replies)
    kick(context.application)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler(aliases("datum"), begin))
    app.add_handler(CallbackQueryHandler(button, pattern=f"^{PREFIX}:"))
    app.add_handler(CallbackQueryHandler(decide, pattern=f"^({ACCEPT_PREFIX}|{OTHER_PREFIX})"))
    register_dialog(KIND, typed_answer)
