"""/checklist: prep items by phase as toggle buttons, ticked by whoever holds them; progress for
coordinators."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from bot.domain.dates import format_date
from bot.domain.permissions import Action
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    edit_pressed,
    exchange_button,
    exchange_command,
    unit_of_work,
)
from bot.menus import aliases
from bot.services import auth, checklists, exchanges
from bot.texts import Markup
from bot.ui import callbacks, views
from bot.ui.callbacks import CHECK_PREFIX, CHECKLIST_PREFIX, action_pattern
from bot.ui.outbox import check_button, checklist_line
from bot.ui.replies import Btn, Reply, rows
from db.models import ROLE_TEACHER, Exchange, ExchangePhase


async def _view(uow: Unit, exchange: Exchange) -> list[Reply]:
    """The user's checklist for the exchange, by phase; progress for a coordinator."""
    app, lang, today = uow.app, uow.lang, uow.app.today()
    programme = app.programmes[exchange.programme_key]
    mine = [m for m in exchange.memberships if m.user_id == uow.user.id]
    if not mine and uow.user.is_coordinator:
        groups = await checklists.progress(uow.session, exchange, programme, today)
        body = views.progress(app.texts, lang, exchange, groups, today)
        return [Reply("checklists.progress", {"body": body})]
    found = checklists.current(
        await checklists.entries_for(uow.session, exchange, programme, mine), today
    )
    title = exchanges.title(exchange)
    if not found:
        return [Reply("checklists.empty", {"title": title})]
    rows_by_phase = {p.phase_key: p for p in exchange.phases}
    lines: list[str] = []
    buttons: list[Btn] = []
    heading = None
    for entry in found:
        if entry.phase.key != heading:
            heading = entry.phase.key
            lines += ["", _heading(uow, entry, rows_by_phase.get(heading))]
        lines.append(checklist_line(app.texts, lang, entry, today, labelled=False, whose=True))
        buttons.append(check_button(app.texts, lang, exchange.id, entry))
    params = {"id": exchange.id, "title": title, "lines": Markup("\n".join(lines).strip())}
    # Whose tick it is, as a rule: the class's for a teacher, their own for a begeleider.
    teaches = any(m.role == ROLE_TEACHER for m in mine)
    key = "checklists.view" if teaches else "checklists.view_begeleider"
    return [Reply(key, params, buttons=rows(buttons, 1))]


def _heading(uow: Unit, entry: checklists.Entry, row: ExchangePhase | None) -> str:
    """The phase's name, with its date for a day."""
    name = entry.phase.name.get(uow.lang)
    if row is None or entry.phase.kind != "day":
        return uow.app.texts.get(uow.lang, "checklists.phase", phase=name)
    return uow.app.texts.get(
        uow.lang, "checklists.phase_day", phase=name, date=format_date(row.starts_on, uow.lang)
    )


async def checklist(update: Update, context: Context) -> None:
    """Show the user's current checklist, or let them choose an exchange."""
    await exchange_command(
        update, context, prefix=CHECKLIST_PREFIX, choose_key="checklists.choose", view=_view
    )


async def checklist_chosen(update: Update, context: Context) -> None:
    """Show the checklist of the exchange whose button was pressed."""
    await exchange_button(
        update, context, prefix=CHECKLIST_PREFIX, action=Action.VIEW_EXCHANGE, view=_view
    )


def _relabel(
    markup: InlineKeyboardMarkup, exchange_id: int, ticked: set[str]
) -> InlineKeyboardMarkup:
    """The same keyboard with each checklist button of the exchange showing its state."""
    prefix = f"{CHECK_PREFIX}{exchange_id}:"
    new_rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else ""
            if data.startswith(prefix):
                label = button.text.split(" ", 1)[-1]
                mark = "✅" if data.removeprefix(prefix) in ticked else "⬜"
                new_row.append(InlineKeyboardButton(f"{mark} {label}", callback_data=data))
            else:
                new_row.append(button)
        new_rows.append(new_row)
    return InlineKeyboardMarkup(new_rows)


def _wanted(message: object, data: str) -> bool | None:
    """What pressing the button asks for: ⬜ means "tick it", ✅ "untick it".

    The press sets the state the user saw the opposite of, rather than flipping whatever the
    state is by then: two teachers of one class ticking the same item at the same moment
    both get it ticked, instead of the second press undoing the first.
    """
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", ()):
        for button in row:
            if button.callback_data == data:
                return not button.text.startswith("✅")
    return None


async def toggle(update: Update, context: Context) -> None:
    """Tick or untick a checklist item for whoever holds it, and update the buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    exchange_id, item_key = callbacks.parse_check(query.data)
    refusal_key = "auth.not_allowed"
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        result = None
        if exchange_id is not None:
            try:
                result = await checklists.toggle_for(
                    uow.session,
                    uow.user,
                    exchange_id,
                    item_key,
                    uow.app.programmes,
                    now=uow.app.clock.now(),
                    want=_wanted(query.message, query.data),
                )
            except auth.NotAllowed as refusal:
                refusal_key = refusal.key
    if result is None:
        await answer_callback(update, context, lang, refusal_key)
        return
    done, ticked = result
    await answer_callback(
        update, context, lang, "checklists.ticked" if done else "checklists.unticked"
    )
    message = query.message
    # An inaccessible message (deleted, or too old) has no keyboard to relabel.
    if isinstance(message, Message) and message.reply_markup is not None:
        assert exchange_id is not None  # there is a result, so the id was read
        markup = message.reply_markup
        await edit_pressed(update, context, reply_markup=_relabel(markup, exchange_id, ticked))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("checklist"), checklist))
    app.add_handler(
        CallbackQueryHandler(checklist_chosen, pattern=action_pattern(CHECKLIST_PREFIX))
    )
    app.add_handler(CallbackQueryHandler(toggle, pattern=action_pattern(CHECK_PREFIX)))
