"""/incident (a short guided report), the alert buttons, and /incidenten."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.exchange_input import InputError
from bot.domain.fieldwork import CATEGORIES, check_team
from bot.handlers.common import (
    BUTTON,
    PHOTO,
    TEXT,
    Context,
    Unit,
    answer_callback,
    dialog_answer,
    dialog_button,
    dialog_text,
    register_dialog,
    send,
    start_dialog,
    unit_of_work,
)
from bot.handlers.fieldwork import not_today
from bot.jobs.dispatcher import kick
from bot.menus import aliases
from bot.notifications import ACK_PREFIX, RESOLVE_PREFIX, incident_text
from bot.replies import Btn, Reply, rows
from bot.services import dialogs, exchanges, fieldwork, incidents
from bot.services.dialogs import button_data
from bot.texts import Markup
from db.models import Dialog, Incident, User

REPORT = "incident"
REPORT_PREFIX = "in"
NOTE = "incident_note"  # more details after a missing-pupil alert
RESOLUTION = "resolve_note"
RESOLUTION_PREFIX = "rn"
CLOSE_PREFIX = "ic:"
TEAM_BUTTONS = 8
MAX_TEXT = 1500


def _question(dialog: Dialog) -> Reply:
    def b(value: str, key: str | None = None, label: str | None = None) -> Btn:
        return Btn(button_data(REPORT_PREFIX, dialog, value), key=key, label=label)

    step = dialog.step
    if step == "exchange":
        return Reply(
            "incident.choose",
            buttons=rows([b(f"x:{i}", label=label) for i, label in dialog.data["choices"]], 1),
        )
    if step == "category":
        return Reply(
            "incident.ask_category",
            buttons=rows([b(f"c:{c}", key=f"incident.category_{c}") for c in CATEGORIES], 2),
        )
    if step == "severity":
        return Reply(
            "incident.ask_severity",
            buttons=(
                tuple(b(f"s:{s}", key=f"incident.severity_{s}") for s in ("low", "medium", "high")),
            ),
        )
    if step == "team":
        numbers = [b(f"t:{n}", label=str(n)) for n in range(1, TEAM_BUTTONS + 1)]
        return Reply(
            "incident.ask_team",
            buttons=(*rows(numbers, 4), (b("t:none", key="incident.btn_no_team"),)),
        )
    if step == "description":
        return Reply("incident.ask_description")
    if step == "photo":
        return Reply("incident.ask_photo", buttons=((b("nophoto", key="incident.btn_no_photo"),),))
    raise ValueError(step)


def _confirm(uow: Unit, dialog: Dialog) -> Reply:
    """The summary before sending, in the reporter's language."""
    texts, lang, data = uow.app.texts, uow.lang, dialog.data
    severity = "urgent" if data["category"] == "missing" else data["severity"]
    lines = [
        texts.get(
            lang,
            "incident.summary_category",
            category=texts.plain(lang, f"incident.category_{data['category']}"),
        ),
        texts.get(
            lang,
            "incident.summary_severity",
            severity=texts.plain(lang, f"incident.severity_{severity}"),
        ),
    ]
    if data.get("team") is not None:
        lines.append(texts.get(lang, "incident.team", team=data["team"]))
    lines.append(texts.get(lang, "incident.what", text=data["description"]))
    if data.get("photo"):
        lines.append(texts.get(lang, "incident.summary_photo"))
    buttons = (
        (Btn(button_data(REPORT_PREFIX, dialog, "send"), key="incident.btn_send"),),
        (Btn(button_data(REPORT_PREFIX, dialog, "cancel"), key="incident.btn_cancel"),),
    )
    return Reply("incident.confirm", {"summary": Markup("\n".join(lines))}, buttons=buttons)


def _ask(uow: Unit, dialog: Dialog) -> Reply:
    return _confirm(uow, dialog) if dialog.step == "confirm" else _question(dialog)


async def report(update: Update, context: Context) -> None:
    """Start an incident report (on an exchange day)."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        days = await fieldwork.days_today(
            uow.session, uow.user, uow.app.programmes, uow.app.today()
        )
        if not days:
            replies = [await not_today(uow)]
        else:
            choices = [(d.exchange.id, exchanges.label(d.exchange)) for d in days]
            dialog = await start_dialog(
                uow,
                update.effective_chat.id,  # type: ignore[union-attr]
                kind=REPORT,
                choices=choices,
                key="exchange",
                first_step="category",
            )
            replies = [Reply("incident.intro"), _ask(uow, dialog)]
    await send(update, context, lang, replies)


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> tuple[list[Reply], bool]:
    """Apply one answer: `how` is "button", "text" or "photo". Returns (replies, sent)."""
    now = uow.app.clock.now()
    step = dialog.step
    kind = how
    if kind == "text" and step == "team":
        dialogs.advance(dialog, "description", now, team=check_team(value))
        return [_ask(uow, dialog)], False
    if kind == "text" and step == "description":
        text = value.strip()[:MAX_TEXT]
        if len(text) < 3:
            raise InputError("incident.description_too_short")
        dialogs.advance(dialog, "photo", now, description=text)
        return [_ask(uow, dialog)], False
    if kind == "photo" and step == "photo":
        dialogs.advance(dialog, "confirm", now, photo=value)
        return [_ask(uow, dialog)], False
    if kind != "button":
        return [
            Reply("new.use_buttons" if kind == "text" else "incident.photo_not_now"),
            _ask(uow, dialog),
        ], False
    picked = dialogs.chosen(dialog, value)
    if step == "exchange" and picked is not None:
        dialogs.advance(dialog, "category", now, exchange=picked)
    elif step == "category" and value.startswith("c:") and value[2:] in CATEGORIES:
        category = value[2:]
        # A missing pupil is always urgent: no need to ask.
        dialogs.advance(
            dialog, "team" if category == "missing" else "severity", now, category=category
        )
    elif step == "severity" and value in ("s:low", "s:medium", "s:high"):
        dialogs.advance(dialog, "team", now, severity=value[2:])
    elif step == "team" and value.startswith("t:"):
        team = None if value == "t:none" else check_team(value[2:])
        dialogs.advance(dialog, "description", now, team=team)
    elif step == "photo" and value == "nophoto":
        dialogs.advance(dialog, "confirm", now, photo=None)
    elif step == "confirm" and value == "cancel":
        await dialogs.finish(uow.session, dialog.chat_id)
        return [Reply("common.cancelled")], False
    elif step == "confirm" and value == "send":
        return await _send_report(uow, dialog), True
    else:
        return [Reply("common.button_expired")], False
    return [_ask(uow, dialog)], False


async def _send_report(uow: Unit, dialog: Dialog) -> list[Reply]:
    data = dialog.data
    await dialogs.finish(uow.session, dialog.chat_id)
    if not await fieldwork.may_work(uow.session, uow.user, data["exchange"]):
        return [Reply("auth.not_allowed")]
    exchange = await exchanges.load_exchange(uow.session, data["exchange"])
    assert exchange is not None
    incident = await incidents.report(
        uow.session,
        exchange,
        reported_by=uow.user.id,
        category=data["category"],
        severity=data.get("severity"),
        team_number=data.get("team"),
        description=data["description"],
        photo_file_id=data.get("photo"),
        now=uow.app.clock.now(),
        ack_window=uow.app.ack_window,
    )
    key = "incident.sent_urgent" if incident.severity in ("high", "urgent") else "incident.sent"
    return [Reply(key, {"id": incident.id})]


async def _ask_async(uow: Unit, dialog: Dialog) -> Reply:
    return _ask(uow, dialog)


async def report_text(update: Update, context: Context) -> None:
    """A typed answer in the incident report."""
    await dialog_text(update, context, kind=REPORT, step=_step, ask=_ask_async)


async def report_button(update: Update, context: Context) -> None:
    """A button of the incident report (a second tap on Versturen finds it gone)."""
    await dialog_button(
        update, context, prefix=REPORT_PREFIX, kind=REPORT, step=_step, ask=_ask_async
    )


async def photo(update: Update, context: Context) -> None:
    """A photo: part of an incident report, or not expected here."""
    message = update.effective_message
    assert message is not None and message.photo
    app_dialog_kind = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        dialog = await dialogs.current(uow.session, message.chat_id, now=uow.app.clock.now())
        app_dialog_kind = dialog.kind if dialog else None
    if app_dialog_kind == REPORT:
        # Kept as Telegram's file id: the bot stores no copy of the picture.
        await dialog_answer(
            update,
            context,
            kind=REPORT,
            how=PHOTO,
            value=message.photo[-1].file_id,
            version=None,
            step=_step,
            ask=_ask_async,
        )
        return
    await send(update, context, lang, [Reply("fallback.other")])


async def note_text(update: Update, context: Context) -> None:
    """More details after a missing-pupil alert."""
    message = update.effective_message
    assert message is not None and message.text is not None
    queued = False
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        dialog = await dialogs.current(
            uow.session, message.chat_id, now=uow.app.clock.now(), lock=True
        )
        if dialog is None or dialog.kind != NOTE:
            return
        incident = await incidents.load(uow.session, dialog.data["incident"])
        await dialogs.finish(uow.session, message.chat_id)
        if incident is None or incident.reported_by != uow.user.id:
            replies = [Reply("auth.not_allowed")]
        else:
            await incidents.add_note(
                uow.session,
                incident,
                message.text.strip()[:MAX_TEXT],
                user_id=uow.user.id,
                now=uow.app.clock.now(),
            )
            replies = [Reply("incident.note_sent", {"id": incident.id})]
            queued = True
    await send(update, context, lang, replies)
    if queued:
        kick(context.application)


# -- acknowledging, resolving, closing -------------------------------------------------------


async def acknowledge(update: Update, context: Context) -> None:
    """ "Gezien": the user has seen the alert and takes it up."""
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.removeprefix(ACK_PREFIX)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        incident = await incidents.load(uow.session, int(raw)) if raw.isdigit() else None
        toast = "auth.not_allowed"
        if incident is not None and await incidents.may_handle(uow.session, uow.user, incident):
            if incident.status == "resolved":
                toast = "incident.already_resolved"
            elif await incidents.acknowledge(
                uow.session, incident, user_id=uow.user.id, now=uow.app.clock.now()
            ):
                toast = "incident.acknowledged"
            else:
                toast = "incident.already_acknowledged"
    await answer_callback(update, context, lang, toast, id=raw)


async def _start_resolution(update: Update, context: Context, raw: str, action: str) -> None:
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        incident = await incidents.load(uow.session, int(raw)) if raw.isdigit() else None
        allowed = incident is not None and (
            uow.user.is_coordinator
            if action == "close"
            else await incidents.may_handle(uow.session, uow.user, incident)
        )
        reply = None
        if allowed and incident is not None and incident.status != "resolved":
            dialog = await dialogs.start(
                uow.session,
                chat_id=update.effective_chat.id,  # type: ignore[union-attr]
                user_id=uow.user.id,
                kind=RESOLUTION,
                step="note",
                data={"incident": incident.id, "action": action},
                now=uow.app.clock.now(),
            )
            reply = await _resolution_question(uow, dialog)
    if reply is None:
        key = "incident.already_resolved" if allowed else "auth.not_allowed"
        await answer_callback(update, context, lang, key, id=raw)
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, [reply])


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


async def _resolution_step(
    uow: Unit, dialog: Dialog, value: str, how: str
) -> tuple[list[Reply], bool]:
    """The note (typed, or none with the button) that closes an incident."""
    if how == BUTTON and value != "none":
        return [Reply("common.button_expired")], False
    note = value.strip()[:MAX_TEXT] if how == TEXT else None
    await dialogs.finish(uow.session, dialog.chat_id)
    incident = await incidents.load(uow.session, dialog.data["incident"])
    if incident is not None and await incidents.resolve(
        uow.session,
        incident,
        user_id=uow.user.id,
        note=note,
        now=uow.app.clock.now(),
        action=dialog.data["action"],
    ):
        return [Reply("incident.resolved", {"id": incident.id})], False
    return [Reply("incident.already_resolved", {"id": dialog.data["incident"]})], False


async def _resolution_question(uow: Unit, dialog: Dialog) -> Reply:
    skip = Btn(button_data(RESOLUTION_PREFIX, dialog, "none"), key="incident.btn_no_note")
    return Reply("incident.ask_resolution", {"id": dialog.data["incident"]}, buttons=((skip,),))


async def resolution_text(update: Update, context: Context) -> None:
    """The typed note that closes an incident."""
    await dialog_text(
        update, context, kind=RESOLUTION, step=_resolution_step, ask=_resolution_question
    )


async def resolution_button(update: Update, context: Context) -> None:
    """Close the incident without a note."""
    await dialog_button(
        update,
        context,
        prefix=RESOLUTION_PREFIX,
        kind=RESOLUTION,
        step=_resolution_step,
        ask=_resolution_question,
    )


async def list_open(update: Update, context: Context) -> None:
    """The open incidents the user may see, newest first."""
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        found = await incidents.visible_open(uow.session, uow.user)
        replies = (
            [Reply("incident.list_empty")]
            if not found
            else [Reply("incident.list_header", {"count": len(found)})]
        )
        for incident in found[:20]:
            replies.append(await _list_item(uow, incident))
    await send(update, context, lang, replies)


async def _list_item(uow: Unit, incident: Incident) -> Reply:
    exchange = await exchanges.load_exchange(uow.session, incident.exchange_id)
    assert exchange is not None
    reporter = await uow.session.get(User, incident.reported_by) if incident.reported_by else None
    body = incident_text(
        uow.app.texts,
        uow.lang,
        incident,
        exchange,
        reporter.display_name if reporter else "?",
        uow.app.settings.tz,
    )
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if uow.user.is_coordinator:
        buttons = (
            (
                Btn(
                    f"{CLOSE_PREFIX}{incident.id}",
                    key="incident.btn_close",
                    params={"id": incident.id},
                ),
            ),
        )
    return Reply("incident.list_item", {"body": Markup(body)}, buttons=buttons)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("incident", report))
    app.add_handler(CommandHandler(aliases("incidenten"), list_open))
    app.add_handler(CallbackQueryHandler(report_button, pattern=f"^{REPORT_PREFIX}:"))
    app.add_handler(CallbackQueryHandler(acknowledge, pattern=f"^{ACK_PREFIX}"))
    app.add_handler(CallbackQueryHandler(resolve, pattern=f"^{RESOLVE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(close, pattern=f"^{CLOSE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(resolution_button, pattern=f"^{RESOLUTION_PREFIX}:"))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.PHOTO, photo))
    register_dialog(REPORT, report_text)
    register_dialog(NOTE, note_text)
    register_dialog(RESOLUTION, resolution_text)
