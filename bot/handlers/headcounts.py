"""On the exchange day: /aanwezig counts pupils per school, and a lower count is asked about."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.dialogs import data, store
from bot.dialogs.engine import (
    TEXT,
    Conversation,
    Expired,
    Turn,
    choice_buttons,
    current_dialog,
    register_dialog,
    start_dialog,
)
from bot.domain.exchange_input import InputError
from bot.domain.headcounts import check_count
from bot.handlers.checkins import not_today
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    answer_reading_first,
    chat_id_of,
    clear_buttons,
    send,
    unit_of_work,
)
from bot.jobs.outbox import kick
from bot.menus import aliases
from bot.services import checkins, exchanges, headcounts, incidents
from bot.services.checkins import DayOfExchange
from bot.texts import Markup
from bot.ui import callbacks
from bot.ui.callbacks import (
    BOTH_COUNT_PREFIX,
    COUNT_PREFIX,
    DROP_PREFIX,
    action_pattern,
    button_data,
)
from bot.ui.replies import Btn, Reply, rows
from db.models import Dialog, Exchange

COUNT = "count"
# `/aanwezig 24 22`: both counts typed, waiting for the tap that says which moment they are for.
BOTH = "count_both"


KEYPAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9")


MAX_DIGITS = 2


def _keypad(dialog: Dialog) -> tuple[tuple[Btn, ...], ...]:
    def key(value: str, label: str | None = None) -> Btn:
        return Btn(button_data(COUNT_PREFIX, dialog, f"k:{value}"), label=label or value)

    digits = [key(d) for d in KEYPAD]
    return (
        *rows(digits, 3),
        (key("del", "⌫"), key("0"), Btn(button_data(COUNT_PREFIX, dialog, "ok"), label="✔")),
    )


async def _today(uow: Unit, exchange_id: int | None) -> DayOfExchange | None:
    """Today's exchange day of this exchange, while the user may still count on it."""
    return await headcounts.day_today(
        uow.session, uow.user, uow.app.programmes, uow.app.today(), exchange_id
    )


async def _moments(uow: Unit, day: DayOfExchange) -> tuple[str, ...]:
    """The moments this day is counted at, the likely one (by the clock) first."""
    return await headcounts.moments_to_offer(
        uow.session,
        day.exchange,
        uow.app.programmes[day.exchange.programme_key],
        day.phase,
        now=uow.app.clock.now().astimezone(uow.app.settings.tz).time(),
    )


def _moment_buttons(
    prefix: str, dialog: Dialog, moments: tuple[str, ...]
) -> tuple[tuple[Btn, ...], ...]:
    """One tap per moment: the likely one alone on top, the others two by two."""
    buttons = [
        Btn(button_data(prefix, dialog, f"m:{m}"), key=f"headcounts.moment_{m}") for m in moments
    ]
    return ((buttons[0],), *rows(buttons[1:], 2)) if buttons else ()


def _moment_name(uow: Unit, moment: str) -> Markup:
    return Markup(uow.app.texts.get(uow.lang, f"headcounts.moment_{moment}"))


async def _count_question(uow: Unit, dialog: Dialog) -> Reply:
    counting = data.count(dialog)
    if dialog.step == "exchange":
        return Reply("headcounts.choose", buttons=choice_buttons(COUNT_PREFIX, dialog))
    if dialog.step == "moment":
        day = await _today(uow, counting.get("exchange"))
        moments = await _moments(uow, day) if day is not None else ()
        return Reply(
            "headcounts.ask_moment", buttons=_moment_buttons(COUNT_PREFIX, dialog, moments)
        )
    exchange = await exchanges.load_exchange(uow.session, counting["exchange"])
    assert exchange is not None
    side = exchanges.side_of(exchange, counting["side"])
    moment = counting["moment"]
    return Reply(
        "headcounts.ask",
        {
            "school": side.school.name,
            "class_name": side.class_name,
            "size": side.class_size,
            "moment": _moment_name(uow, moment),
            "entry": counting.get("entry") or "…",
        },
        buttons=_keypad(dialog),
    )


# The answers to "is everyone accounted for?", as button data and as stored.
DROP_CHOICES = {"ok": "home", "else": "elsewhere", "miss": "missing"}


def _drop_reply(uow: Unit, exchange: Exchange, drop: headcounts.Drop) -> Reply:
    texts, lang = uow.app.texts, uow.lang
    return Reply(
        "headcounts.drop",
        {
            "pupils": texts.amount(lang, "headcounts.pupils", drop.fewer),
            "school": exchanges.side_of(exchange, drop.side).school.name,
            "since": Markup(texts.get(lang, f"headcounts.since_{drop.previous_moment}")),
            "before": drop.before,
            "after": drop.after,
        },
        buttons=(
            (
                Btn(
                    callbacks.drop("ok", drop.headcount_id),
                    key="headcounts.btn_all_fine_one"
                    if drop.fewer == 1
                    else "headcounts.btn_all_fine",
                ),
            ),
            (
                Btn(
                    callbacks.drop("else", drop.headcount_id),
                    key="headcounts.btn_elsewhere_one"
                    if drop.fewer == 1
                    else "headcounts.btn_elsewhere",
                ),
            ),
            (Btn(callbacks.drop("miss", drop.headcount_id), key="headcounts.btn_missing"),),
        ),
    )


async def _drop_questions(uow: Unit, exchange: Exchange, headcount_ids: list[int]) -> list[Reply]:
    """ "Is everyone accounted for?" for each drop of these counts not answered yet."""
    found = await headcounts.drops(uow.session, headcount_ids)
    return [_drop_reply(uow, exchange, drop) for drop in found]


async def pending_drop_questions(uow: Unit, dialog: Dialog) -> list[Reply]:
    """Ask now about drops of a count left unfinished (another command interrupts it).

    The drop question waits until both schools are counted, so that the answer to it is never
    mistaken for the next count; when the count is abandoned, it must still be asked.
    """
    counting = data.count(dialog)
    pending = list(counting.get("drops", [])) if dialog.kind == COUNT else []
    if not pending:
        return []
    store.remember(dialog, uow.app.clock.now(), {"drops": []})
    exchange = await exchanges.load_exchange(uow.session, counting["exchange"])
    return await _drop_questions(uow, exchange, pending) if exchange is not None else []


async def _save_count(uow: Unit, dialog: Dialog, value: str) -> list[Reply]:
    """Validate and store the count of the current side, then ask the next side."""
    counting = data.count(dialog)
    exchange = await exchanges.load_exchange(uow.session, counting["exchange"])
    assert exchange is not None
    side = exchanges.side_of(exchange, counting["side"])
    count = check_count(value, side.class_size)
    drop = await headcounts.record_count(
        uow.session,
        exchange,
        uow.app.today(),
        side.side,
        counting["moment"],
        count,
        user_id=uow.user.id,
        now=uow.app.clock.now(),
    )
    replies = [Reply("headcounts.saved", {"school": side.school.name, "count": count})]
    # A drop is asked about once both schools are counted: asked in between, the next typed
    # count would be read as the answer (or as an alarm's details).
    drops = [*counting.get("drops", []), *([drop.headcount_id] if drop is not None else [])]
    if counting["side"] == "A":
        store.advance(
            dialog, "count", uow.app.clock.now(), {"side": "B", "entry": "", "drops": drops}
        )
        replies.append(await _count_question(uow, dialog))
    else:
        await store.finish(uow.session, dialog.chat_id)
        replies += await _drop_questions(uow, exchange, drops)
    return replies


async def present(update: Update, context: Context) -> None:
    """Count pupils per school: `/aanwezig`, or `/aanwezig 24 22` for both at once."""
    args = context.args or []
    chat_id = chat_id_of(update)
    await answer_reading_first(
        update,
        context,
        lambda uow, may_write: _present(uow, chat_id, args, may_write=may_write),
    )


async def _present(
    uow: Unit, chat_id: int, args: list[str], *, may_write: bool
) -> list[Reply] | None:
    """The answer to /aanwezig; None when there is something to store and `may_write` is off."""
    today = uow.app.today()
    if not args and not may_write:
        # Only whether there is anything to count: the write lists it (a thousand pairs, once).
        if await checkins.any_day_today(uow.session, uow.user, uow.app.programmes, today):
            return None
        return [await not_today(uow)]
    days = await headcounts.days_today(uow.session, uow.user, uow.app.programmes, today)
    if not days:
        return [await not_today(uow)]
    if args and (len(args) != 2 or len(days) != 1):
        return [Reply("headcounts.shortcut_usage")]
    if args:
        day = await _today(uow, days[0].exchange_id)
        if day is None:
            return [await not_today(uow)]
        try:
            counts = headcounts.check_both(day.exchange, args)
        except InputError as problem:
            return [Reply(problem.key, problem.params), Reply("headcounts.shortcut_usage")]
        return [await _start_both(uow, chat_id, day, counts)] if may_write else None
    choices = [(d.exchange_id, d.label) for d in days]
    dialog = await start_dialog(uow, chat_id, kind=COUNT, choices=choices, first_step="moment")
    return [await _count_question(uow, dialog)]


async def _start_both(
    uow: Unit, chat_id: int, day: DayOfExchange, counts: tuple[int, int]
) -> Reply:
    """Keep both typed counts and ask, with one tap, which moment they are for."""
    dialog = await store.start(
        uow.session,
        chat_id=chat_id,
        user_id=uow.user.id,
        kind=BOTH,
        step="moment",
        data={
            "exchange": day.exchange.id,
            "day": day.phase.starts_on.isoformat(),
            "counts": list(counts),
        },
        now=uow.app.clock.now(),
    )
    return await _both_question(uow, dialog)


async def _both_question(uow: Unit, dialog: Dialog) -> Reply:
    both = data.both_counts(dialog)
    day = await _today(uow, both.get("exchange"))
    if day is None:
        return Reply("headcounts.both_expired")
    a, b = both.get("counts", [0, 0])
    return Reply(
        "headcounts.ask_both_moment",
        {
            "school_a": exchanges.side_of(day.exchange, "A").school.name,
            "count_a": a,
            "school_b": exchanges.side_of(day.exchange, "B").school.name,
            "count_b": b,
        },
        buttons=_moment_buttons(BOTH_COUNT_PREFIX, dialog, await _moments(uow, day)),
    )


async def _both_step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """The tapped moment of `/aanwezig 24 22`: only now are both counts stored."""
    if how == TEXT:
        return Turn([Reply("common.use_buttons"), await _both_question(uow, dialog)])
    both = data.both_counts(dialog)
    day = await _today(uow, both.get("exchange"))
    if day is None or both.get("day") != uow.app.today().isoformat():
        # The day is over (or the exchange takes no more counts): nothing is stored.
        await store.finish(uow.session, dialog.chat_id)
        return Turn([Reply("headcounts.both_expired")])
    moment = value.removeprefix("m:")
    if not value.startswith("m:") or moment not in await _moments(uow, day):
        raise Expired(value)
    counted = await headcounts.record_both(
        uow.session,
        day.exchange,
        day.phase.starts_on,
        both.get("counts", []),
        moment,
        user_id=uow.user.id,
        now=uow.app.clock.now(),
    )
    await store.finish(uow.session, dialog.chat_id)
    return Turn(
        [
            Reply(
                "headcounts.both_saved",
                {
                    "moment": _moment_name(uow, moment),
                    "lines": Markup(
                        "\n".join(
                            uow.app.texts.get(
                                uow.lang, "headcounts.count_line", school=side.school.name, count=n
                            )
                            for side, n in counted.counts
                        )
                    ),
                },
            ),
            *await _drop_questions(uow, day.exchange, list(counted.drops)),
        ]
    )


async def _offered(uow: Unit, dialog: Dialog) -> tuple[str, ...]:
    day = await _today(uow, data.count(dialog).get("exchange"))
    return await _moments(uow, day) if day is not None else ()


async def _count_step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """One answer while counting: exchange, moment, a keypad key, "ok", or a typed number.

    Keypad keys redraw the question in place; "ok" and a typed number save the count.
    """
    now = uow.app.clock.now()
    step = dialog.step
    if how == TEXT:
        if step != "count":
            return Turn([Reply("common.use_buttons"), await _count_question(uow, dialog)])
        return Turn(await _save_count(uow, dialog, value))
    picked = store.chosen(dialog, value)
    if step == "exchange" and picked is not None:
        store.advance(dialog, "moment", now, {"exchange": picked})
        return Turn([await _count_question(uow, dialog)])
    if step == "moment" and value.startswith("m:") and value[2:] in await _offered(uow, dialog):
        store.advance(dialog, "count", now, {"moment": value[2:], "side": "A", "entry": ""})
        return Turn([await _count_question(uow, dialog)])
    if step == "count" and value.startswith("k:"):
        before = data.count(dialog).get("entry", "")
        entry = before[:-1] if value == "k:del" else (before + value[2:])[: MAX_DIGITS + 1]
        store.remember(dialog, now, {"entry": entry})
        # Telegram refuses an edit that changes nothing (⌫ on an empty count).
        return Turn(edit=await _count_question(uow, dialog) if entry != before else None)
    if step == "count" and value == "ok":
        try:
            return Turn(await _save_count(uow, dialog, data.count(dialog).get("entry", "")))
        except InputError as problem:
            store.remember(dialog, now, {"entry": ""})
            question = await _count_question(uow, dialog)
            return Turn([Reply(problem.key, problem.params)], edit=question)
    raise Expired(value)


async def drop_answer(update: Update, context: Context) -> None:
    """After a lower count: gone home, elsewhere in view, or a missing pupil (one alarm)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    kind, headcount_id = callbacks.parse_drop(query.data)
    answer = DROP_CHOICES.get(kind)
    replies: list[Reply] = []
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        result = headcounts.DropAnswer("not_allowed")
        if answer is not None and headcount_id is not None:
            result = await headcounts.answer_drop(
                uow.session,
                uow.user,
                headcount_id,
                answer,
                today=uow.app.today(),
                now=uow.app.clock.now(),
                ack_window=uow.app.ack_window,
            )
        alarm = result.incident if result.outcome == "recorded" else None
        if alarm is not None:
            chat_id = chat_id_of(update)
            # The note mode replaces whatever this chat was doing: drops of a count it
            # interrupts are asked right after the alarm's confirmation.
            earlier = await current_dialog(uow, chat_id)
            more = await pending_drop_questions(uow, earlier) if earlier else []
            # From now on every text the begeleider types goes to the alarm (until a command).
            await store.start(
                uow.session,
                chat_id=chat_id,
                user_id=uow.user.id,
                kind=incidents.NOTE_DIALOG,
                step="note",
                data={"incident": alarm.id},
                now=uow.app.clock.now(),
            )
            replies = [Reply("incidents.missing_sent", {"id": alarm.id}), *more]
        elif result.outcome == "recorded":
            replies = [Reply("headcounts.all_fine" if answer == "home" else "headcounts.elsewhere")]
    if result.outcome == "not_allowed":
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    if result.outcome == "expired":
        await answer_callback(update, context, lang, "headcounts.drop_expired")
    elif result.outcome == "answered" and result.incident is not None:
        await answer_callback(
            update, context, lang, "headcounts.drop_alarmed", id=result.incident.id
        )
    elif result.outcome == "answered":
        await answer_callback(update, context, lang, "headcounts.drop_answered")
    else:
        await answer_callback(update, context, lang)
    # Whatever the outcome, this question's buttons have done their work.
    await clear_buttons(update, context)
    await send(update, context, lang, replies)
    if alarm is not None:
        kick(context.application)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("aanwezig"), present))
    app.add_handler(CallbackQueryHandler(drop_answer, pattern=action_pattern(DROP_PREFIX)))
    register_dialog(app, Conversation(COUNT, _count_step, _count_question, prefix=COUNT_PREFIX))
    register_dialog(app, Conversation(BOTH, _both_step, _both_question, prefix=BOTH_COUNT_PREFIX))
