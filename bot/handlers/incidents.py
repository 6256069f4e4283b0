"""/incident (a short guided report), the alert buttons, and /incidenten."""

from __future__ import annotations

import asyncio
import logging

from telegram import ReplyParameters, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotApplication, app_context
from bot.delivery import CAPTION_LIMIT, TEXT_LIMIT, visible_len
from bot.dialogs import data, store
from bot.dialogs.engine import (
    BUTTON,
    PHOTO,
    TEXT,
    Conversation,
    Expired,
    Peeked,
    Turn,
    choice_buttons,
    current_dialog,
    dialog_answer,
    peek_dialog,
    register_dialog,
    start_dialog,
)
from bot.domain.exchange_input import InputError
from bot.domain.incidents import CATEGORIES, URGENT_SEVERITIES, check_team
from bot.domain.permissions import Action
from bot.handlers.checkins import not_today
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    answer_reading_first,
    chat_id_of,
    edit_quietly,
    look_up,
    reading,
    send,
    unit_of_work,
)
from bot.handlers.headcounts import COUNT, pending_drop_questions
from bot.jobs.outbox import kick
from bot.menus import aliases
from bot.services import auth, checkins, exchanges, incidents
from bot.services.outbox_content import alert_copy
from bot.texts import Markup
from bot.ui import replies as rendering
from bot.ui import views
from bot.ui.callbacks import (
    ACK_PREFIX,
    CLOSE_PREFIX,
    REPORT_PREFIX,
    RESOLUTION_PREFIX,
    RESOLVE_PREFIX,
    action,
    action_pattern,
    button_data,
    button_id,
)
from bot.ui.outbox import Rendered, alert_message, incident_state, incident_text
from bot.ui.replies import Btn, Reply, rows
from db.models import Dialog, Incident

REPORT = incidents.REPORT_DIALOG
NOTE = incidents.NOTE_DIALOG  # every text typed after a missing-pupil alarm goes to it
RESOLUTION = "resolve_note"
TEAM_BUTTONS = 8

log = logging.getLogger(__name__)


def _question(dialog: Dialog) -> Reply:
    def b(value: str, key: str | None = None, label: str | None = None) -> Btn:
        return Btn(button_data(REPORT_PREFIX, dialog, value), key=key, label=label)

    step = dialog.step
    if step == "exchange":
        return Reply(
            "incidents.choose",
            buttons=choice_buttons(REPORT_PREFIX, dialog),
        )
    if step == "category":
        return Reply(
            "incidents.ask_category",
            buttons=rows([b(f"c:{c}", key=f"incidents.category_{c}") for c in CATEGORIES], 2),
        )
    if step == "severity":
        return Reply(
            "incidents.ask_severity",
            buttons=(
                tuple(
                    b(f"s:{s}", key=f"incidents.severity_{s}") for s in ("low", "medium", "high")
                ),
            ),
        )
    if step == "team":
        numbers = [b(f"t:{n}", label=str(n)) for n in range(1, TEAM_BUTTONS + 1)]
        return Reply(
            "incidents.ask_team",
            buttons=(*rows(numbers, 4), (b("t:none", key="incidents.btn_no_team"),)),
        )
    if step == "description":
        return Reply("incidents.ask_description")
    if step == "photo":
        return Reply(
            "incidents.ask_photo", buttons=((b("nophoto", key="incidents.btn_no_photo"),),)
        )
    raise ValueError(step)


def _confirm(uow: Unit, dialog: Dialog) -> Reply:
    """The summary before sending, in the reporter's language."""
    texts, lang, answers = uow.app.texts, uow.lang, data.report(dialog)
    severity = "urgent" if answers["category"] == "missing" else answers["severity"]
    lines = [
        texts.get(
            lang,
            "incidents.summary_category",
            category=texts.plain(lang, f"incidents.category_{answers['category']}"),
        ),
        texts.get(
            lang,
            "incidents.summary_severity",
            severity=texts.plain(lang, f"incidents.severity_{severity}"),
        ),
    ]
    if answers.get("team") is not None:
        lines.append(texts.get(lang, "incidents.team", team=answers["team"]))
    lines.append(texts.get(lang, "incidents.what", text=answers["description"]))
    if answers.get("photo"):
        lines.append(texts.get(lang, "incidents.summary_photo"))
    buttons = (
        (Btn(button_data(REPORT_PREFIX, dialog, "send"), key="incidents.btn_send"),),
        (Btn(button_data(REPORT_PREFIX, dialog, "cancel"), key="incidents.btn_cancel"),),
    )
    return Reply("incidents.confirm", {"summary": Markup("\n".join(lines))}, buttons=buttons)


def _ask(uow: Unit, dialog: Dialog) -> Reply:
    return _confirm(uow, dialog) if dialog.step == "confirm" else _question(dialog)


async def report(update: Update, context: Context) -> None:
    """Start an incident report (on an exchange day)."""
    chat_id = chat_id_of(update)
    await answer_reading_first(
        update, context, lambda uow, may_write: _report(uow, chat_id, may_write=may_write)
    )


async def _report(uow: Unit, chat_id: int, *, may_write: bool) -> list[Reply] | None:
    """The answer to /incident; None when a report is to begin and `may_write` is off."""
    days = await checkins.days_today(uow.session, uow.user, uow.app.programmes, uow.app.today())
    if not days:
        return [await not_today(uow)]
    if not may_write:
        return None
    choices = [(d.exchange.id, exchanges.label(d.exchange)) for d in days]
    dialog = await start_dialog(uow, chat_id, kind=REPORT, choices=choices, first_step="category")
    return [Reply("incidents.intro"), _ask(uow, dialog)]


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """Apply one answer: `how` is BUTTON, TEXT or PHOTO."""
    now = uow.app.clock.now()
    step = dialog.step
    if how == TEXT and step == "team":
        store.advance(dialog, "description", now, {"team": check_team(value)})
        return Turn([_ask(uow, dialog)])
    if how == TEXT and step == "description":
        text = value.strip()
        if len(text) < 3:
            raise InputError("incidents.description_too_short")
        store.advance(dialog, "photo", now, {"description": text})
        return Turn([_ask(uow, dialog)])
    if how == PHOTO and step == "photo":
        store.advance(dialog, "confirm", now, {"photo": value})
        return Turn([_ask(uow, dialog)])
    if how != BUTTON:
        wanted = Reply("common.use_buttons" if how == TEXT else "incidents.photo_not_now")
        return Turn([wanted, _ask(uow, dialog)])
    picked = store.chosen(dialog, value)
    if step == "exchange" and picked is not None:
        store.advance(dialog, "category", now, {"exchange": picked})
    elif step == "category" and value.startswith("c:") and value[2:] in CATEGORIES:
        category = value[2:]
        # A missing pupil is always urgent: no need to ask.
        next_step = "team" if category == "missing" else "severity"
        store.advance(dialog, next_step, now, {"category": category})
    elif step == "severity" and value in ("s:low", "s:medium", "s:high"):
        store.advance(dialog, "team", now, {"severity": value[2:]})
    elif step == "team" and value.startswith("t:"):
        team = None if value == "t:none" else check_team(value[2:])
        store.advance(dialog, "description", now, {"team": team})
    elif step == "photo" and value == "nophoto":
        store.advance(dialog, "confirm", now, {"photo": None})
    elif step == "confirm" and value == "cancel":
        await store.finish(uow.session, dialog.chat_id)
        return Turn([Reply("common.cancelled")])
    elif step == "confirm" and value == "send":
        return Turn(await _send_report(uow, dialog), queued=True)
    else:
        return Turn([Reply("common.button_expired")])
    return Turn([_ask(uow, dialog)])


async def _send_report(uow: Unit, dialog: Dialog) -> list[Reply]:
    answers = data.report(dialog)
    await store.finish(uow.session, dialog.chat_id)
    if not await checkins.may_work(uow.session, uow.user, answers["exchange"]):
        return [Reply("auth.not_allowed")]
    exchange = await exchanges.load_exchange(uow.session, answers["exchange"])
    assert exchange is not None
    incident = await incidents.report(
        uow.session,
        exchange,
        reported_by=uow.user.id,
        category=answers["category"],
        severity=answers.get("severity"),
        team_number=answers.get("team"),
        description=answers["description"],
        photo_file_id=answers.get("photo"),
        now=uow.app.clock.now(),
        ack_window=uow.app.ack_window,
    )
    if incident.severity in URGENT_SEVERITIES:
        return [Reply("incidents.sent_urgent", {"id": incident.id})]
    arrives = await incidents.delivery_time(
        uow.session, incident, now=uow.app.clock.now(), rules=uow.app.rules
    )
    reply = views.sent_or_waiting(
        "incidents.sent",
        "incidents.sent_later",
        {"id": incident.id},
        arrives=arrives,
        tz=uow.app.settings.tz,
    )
    return [reply]


async def _ask_async(uow: Unit, dialog: Dialog) -> Reply:
    return _ask(uow, dialog)


REPORT_CONVERSATION = Conversation(REPORT, _step, _ask_async, prefix=REPORT_PREFIX)


async def photo(update: Update, context: Context) -> None:
    """A photo: part of an incident report, or not expected here."""
    message = update.effective_message
    assert message is not None and message.photo
    app_dialog_kind = None
    async with reading(update, context) as uow:
        lang = uow.lang
        dialog, _ended = await peek_dialog(uow, message.chat_id)
        app_dialog_kind = dialog.kind if dialog else None
    if app_dialog_kind == REPORT:
        # Kept as Telegram's file id: the bot stores no copy of the picture.
        await dialog_answer(
            update, context, REPORT_CONVERSATION, how=PHOTO, value=message.photo[-1].file_id
        )
        return
    await send(update, context, lang, [Reply("fallback.other")])


async def _lock_alarm(uow: Unit, peeked: Peeked) -> None:
    """The incident is locked before the conversation, as when the alarm is solved (which
    ends this conversation): a note and a resolution at once wait, never deadlock."""
    incident_id = peeked.get("incident")
    if isinstance(incident_id, int):
        await incidents.load(uow.session, incident_id, lock=True)


async def _note_gone(uow: Unit, peeked: Peeked) -> list[Reply]:
    """The note mode ended between reading the chat and now (the alarm was solved)."""
    incident_id = peeked.get("incident")
    incident = (
        await incidents.load(uow.session, incident_id) if isinstance(incident_id, int) else None
    )
    solved = incident is not None and incident.status == "resolved"
    key = "incidents.note_after_resolved" if solved else "fallback.free_text"
    return [Reply(key, {"id": incident_id})]


async def _note_step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """Whatever the reporter types after a missing-pupil alarm goes to everyone alerted."""
    now = uow.app.clock.now()
    incident = await incidents.load(uow.session, data.note(dialog)["incident"], lock=True)
    text = value.strip()
    if incident is None or incident.reported_by != uow.user.id:
        raise auth.NotAllowed(Action.FIELD_WORK)
    if incident.status == "resolved":
        # Solved: chatting on would alarm everyone again for nothing.
        await store.finish(uow.session, dialog.chat_id)
        return Turn([Reply("incidents.note_after_resolved", {"id": incident.id})])
    if not text:
        return Turn()
    # The note mode stays: the next message goes to the alarm too (see NOTE_DIALOG_TTL).
    store.remember(dialog, now)
    await incidents.add_note(uow.session, incident, text, user_id=uow.user.id, now=now)
    arrives = await incidents.delivery_time(uow.session, incident, now=now, rules=uow.app.rules)
    sent = views.sent_or_waiting(
        "incidents.note_sent",
        "incidents.note_sent_later",
        {"id": incident.id},
        arrives=arrives,
        tz=uow.app.settings.tz,
    )
    return Turn([sent], queued=True)


async def _note_ask(uow: Unit, dialog: Dialog) -> Reply:
    raise ValueError("the note mode asks nothing")


NOTE_CONVERSATION = Conversation(NOTE, _note_step, _note_ask, first=_lock_alarm, gone=_note_gone)


async def before_command(update: Update, context: Context) -> None:
    """Runs before every command: it ends an alarm's note mode, and asks about the drops of a
    count the command interrupts (they are asked only once both schools are counted)."""
    chat = update.effective_chat
    if chat is None or update.effective_user is None:
        return
    # The same query finds the user and their roles for the command's own handler.
    peeked = (await look_up(update, context)).dialog
    kind = peeked.kind if peeked is not None else None
    waiting = bool(peeked is not None and data.count(peeked).get("drops"))
    if kind != NOTE and not (kind == COUNT and waiting):
        return
    replies: list[Reply] = []
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        dialog = await current_dialog(uow, chat.id, lock=True)
        if dialog is not None and dialog.kind == NOTE:
            await store.finish(uow.session, chat.id)
            incident_id = data.note(dialog)["incident"]
            # Said only while the alarm is open: once solved, the reporter was told so.
            if await incidents.is_open(uow.session, incident_id):
                replies = [Reply("incidents.note_mode_ended", {"id": incident_id})]
        elif dialog is not None:
            replies = await pending_drop_questions(uow, dialog)
    await send(update, context, lang, replies)


# -- acknowledging, resolving, closing -------------------------------------------------------


async def acknowledge(update: Update, context: Context) -> None:
    """ "Gezien": the user has seen the alert and takes it up."""
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.removeprefix(ACK_PREFIX)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        incident_id = button_id(raw, "")
        outcome = (
            await incidents.take_up(uow.session, uow.user, incident_id, now=uow.app.clock.now())
            if incident_id is not None
            else "not_allowed"
        )
    toast = "auth.not_allowed" if outcome == "not_allowed" else f"incidents.{outcome}"
    await answer_callback(update, context, lang, toast, id=raw)
    if outcome == "acknowledged" and incident_id is not None:
        await update_copies(context, incident_id)
        kick(context.application)


async def _start_resolution(update: Update, context: Context, raw: str, action: str) -> None:
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        incident_id = button_id(raw, "")
        incident = await incidents.load(uow.session, incident_id) if incident_id else None
        allowed = incident is not None and await incidents.may_act(
            uow.session, uow.user, incident, action
        )
        replies: list[Reply] = []
        if allowed and incident is not None and incident.status != "resolved":
            chat_id = chat_id_of(update)
            # The note replaces whatever this chat was doing; a count's drops are asked first.
            earlier = await current_dialog(uow, chat_id)
            replies = await pending_drop_questions(uow, earlier) if earlier else []
            dialog = await store.start(
                uow.session,
                chat_id=chat_id,
                user_id=uow.user.id,
                kind=RESOLUTION,
                step="note",
                data={"incident": incident.id, "action": action},
                now=uow.app.clock.now(),
            )
            replies.append(await _resolution_question(uow, dialog))
    if not replies:
        key = "incidents.already_resolved" if allowed else "auth.not_allowed"
        await answer_callback(update, context, lang, key, id=raw)
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, replies)


async def resolve(update: Update, context: Context) -> None:
    """ "Opgelost" on an alert: ask for a short note, then close the incident."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await _start_resolution(update, context, query.data.removeprefix(RESOLVE_PREFIX), "resolve")


async def close(update: Update, context: Context) -> None:
    """A coordinator closes an incident from /incidenten."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await _start_resolution(update, context, query.data.removeprefix(CLOSE_PREFIX), "close")


async def _resolution_step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    """The note (typed, or none with the button) that closes an incident; then every copy of
    the alert says who solved it, and the reporter hears it."""
    if how == BUTTON and value != "none":
        raise Expired(value)
    note = value.strip() if how == TEXT else None
    if how == TEXT and not note:
        return Turn([await _resolution_question(uow, dialog)])
    await store.finish(uow.session, dialog.chat_id)
    solving = data.resolution(dialog)
    incident_id = int(solving["incident"])
    incident = await incidents.load(uow.session, incident_id, lock=True)
    action = solving["action"]
    # Checked again: the exchange may have been archived while the note was being typed.
    if incident is not None and not await incidents.may_act(
        uow.session, uow.user, incident, action
    ):
        return Turn([Reply("auth.not_allowed")])
    if incident is not None and await incidents.resolve(
        uow.session,
        incident,
        user_id=uow.user.id,
        note=note,
        now=uow.app.clock.now(),
        action=action,
    ):

        async def refresh(context: Context) -> None:
            await update_copies(context, incident_id)

        return Turn([Reply("incidents.resolved", {"id": incident_id})], queued=True, after=refresh)
    return Turn([Reply("incidents.already_resolved", {"id": incident_id})])


async def _resolution_question(uow: Unit, dialog: Dialog) -> Reply:
    skip = Btn(button_data(RESOLUTION_PREFIX, dialog, "none"), key="incidents.btn_no_note")
    return Reply(
        "incidents.ask_resolution", {"id": data.resolution(dialog)["incident"]}, buttons=((skip,),)
    )


RESOLUTION_CONVERSATION = Conversation(
    RESOLUTION, _resolution_step, _resolution_question, prefix=RESOLUTION_PREFIX
)


# -- every copy of an alert shows who acted ----------------------------------------------------


async def update_copies(context: Context, incident_id: int) -> None:
    """Edit every delivered copy of the alert to show where it stands now.

    Runs after the change is committed. A copy that was deleted, or that already shows this,
    is fine; a copy Telegram refuses is logged and the rest still get their edit.
    """
    app = app_context(context)
    # One refresh of an incident's copies at a time, so that of two people acting at once
    # the last refresh, which reads the state after both, is the one left on every copy.
    lock = app.alert_copy_locks.get(incident_id)
    if lock is None:
        lock = app.alert_copy_locks[incident_id] = asyncio.Lock()
    async with lock:
        edits: list[tuple[incidents.AlertCopy, Rendered, str | None]] = []
        async with app.db.read() as session:
            incident = await incidents.load(session, incident_id)
            copies = await incidents.alert_copies(session, incident_id) if incident else []
            for copy in copies:
                assert incident is not None
                alert = await alert_copy(session, copy, incident)
                if alert is None:
                    continue
                rendered = alert_message(
                    app.texts,
                    copy.language,
                    alert,
                    tz=app.settings.tz,
                    ack_minutes=app.settings.incident_ack_minutes,
                )
                limit = CAPTION_LIMIT if copy.as_caption else TEXT_LIMIT
                fits = visible_len(rendered.text) <= limit
                # Grown past what its message holds (a caption, or the last part of a long
                # alert): the message keeps its words, and the state goes beneath it.
                state = (
                    None
                    if fits
                    else incident_state(app.texts, copy.language, incident, app.settings.tz)
                )
                edits.append((copy, rendered, None if state is None else "\n".join(state)))
        for copy, rendered, below in edits:
            await _edit_copy(context, copy, rendered, below)


async def _edit_copy(
    context: Context, copy: incidents.AlertCopy, rendered: Rendered, below: str | None
) -> None:
    app = app_context(context)
    markup = rendering.keyboard(app.texts, copy.language, rendered.buttons)
    try:
        if below is not None:
            await edit_quietly(context.bot, copy.user_id, copy.message_id, reply_markup=markup)
            beneath = ReplyParameters(copy.message_id, allow_sending_without_reply=True)
            await context.bot.send_message(copy.user_id, below, reply_parameters=beneath)
            return
        # A photo alert whose text fitted its caption is edited there (bot/delivery.py).
        text, caption = (None, rendered.text) if copy.as_caption else (rendered.text, None)
        await edit_quietly(
            context.bot,
            copy.user_id,
            copy.message_id,
            text=text,
            caption=caption,
            reply_markup=markup,
        )
    except TelegramError as error:
        log.warning("Could not update alert copy %s: %s", copy.row_id, error)


# Incidents /incidenten shows at most, newest first; the header says how many there are.
LIST_LIMIT = 20


async def list_open(update: Update, context: Context) -> None:
    """The open incidents the user may see, newest first."""
    async with reading(update, context) as uow:
        lang = uow.lang
        found = await incidents.open_list(uow.session, uow.user, LIST_LIMIT)
        replies = (
            [Reply("incidents.list_empty")]
            if not found.total
            else [Reply("incidents.list_header", {"count": found.total})]
        )
        for incident in found.incidents:
            replies.append(_list_item(uow, incident, found))
    await send(update, context, lang, replies)


def _list_item(uow: Unit, incident: Incident, found: incidents.OpenList) -> Reply:
    reporter = found.reporters.get(incident.reported_by) if incident.reported_by else None
    body = incident_text(
        uow.app.texts,
        uow.lang,
        incident,
        found.exchanges[incident.exchange_id],
        reporter if reporter is not None else "?",
        uow.app.settings.tz,
    )
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if uow.user.is_coordinator:
        buttons = (
            (
                Btn(
                    action(CLOSE_PREFIX, incident.id),
                    key="incidents.btn_close",
                    params={"id": incident.id},
                ),
            ),
        )
    return Reply("incidents.list_item", {"body": Markup(body)}, buttons=buttons)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("incident", report))
    app.add_handler(CommandHandler(aliases("incidenten"), list_open))
    app.add_handler(CallbackQueryHandler(acknowledge, pattern=action_pattern(ACK_PREFIX)))
    app.add_handler(CallbackQueryHandler(resolve, pattern=action_pattern(RESOLVE_PREFIX)))
    app.add_handler(CallbackQueryHandler(close, pattern=action_pattern(CLOSE_PREFIX)))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.PHOTO, photo))
    register_dialog(app, REPORT_CONVERSATION)
    register_dialog(app, NOTE_CONVERSATION)
    # Group -1 runs before the command's own handler (group 0), for every new command.
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.COMMAND,
            before_command,
        ),
        group=-1,
    )
    register_dialog(app, RESOLUTION_CONVERSATION)
