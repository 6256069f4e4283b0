"""/bericht: a coordinator tells many people something, and hears who got it.

A conversation (bot/dialogs): the message (text, or a photo or file with its caption), the
audience, a "Gelezen" button or not, now or later, then a preview with the number of
recipients before anything is stored. "Versturen" stores it once: a second press is told it
went already. Also the "✅ Gelezen" button under a broadcast, and `bcx:<exchange>` (from
/overzicht's detail view), which starts /bericht to that one pair.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotApplication, app_context
from bot.dialogs import data, store
from bot.dialogs.data import BroadcastData
from bot.dialogs.engine import (
    BUTTON,
    TEXT,
    Conversation,
    Expired,
    Turn,
    choice_buttons,
    dialog_answer,
    peek_dialog,
    register_dialog,
)
from bot.domain.exchange_input import InputError
from bot.domain.numbers import clean_text
from bot.domain.permissions import Action
from bot.domain.programme import Text
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    answer_reading_first,
    chat_id_of,
    clear_buttons,
    edit_pressed,
    reading,
    send,
    unit_of_work,
)
from bot.menus import aliases
from bot.services import auth, broadcasts, outbox
from bot.services.broadcasts import ALL, CITY, EXCHANGE, PHASE, Audience, Draft
from bot.texts import Markup
from bot.ui import broadcasts as look
from bot.ui import replies as rendering
from bot.ui.callbacks import (
    BROADCAST_EXCHANGE_PREFIX,
    BROADCAST_PREFIX,
    READ_PREFIX,
    action_pattern,
    button_data,
    button_id,
    dialog_pattern,
    parse_button,
)
from bot.ui.replies import Btn, Reply, rows
from db.models import Dialog

BROADCAST = "broadcast"
# How an answer came, besides the engine's BUTTON and TEXT: a photo, a file or another
# attachment, its details as JSON.
MEDIA = "media"
SEND = "send."  # the "Versturen" button's value: send.<draft>


# -- the questions ---------------------------------------------------------------------------


def _b(dialog: Dialog, value: str, key: str, **params: object) -> Btn:
    return Btn(button_data(BROADCAST_PREFIX, dialog, value), key=key, params=params)


def _cancel(dialog: Dialog) -> tuple[Btn, ...]:
    return (_b(dialog, "cancel", "broadcast.btn_cancel"),)


def _audience(answers: BroadcastData) -> Audience:
    return Audience(answers.get("audience", ALL), answers.get("value"), answers.get("mine", True))


def _draft(answers: BroadcastData) -> Draft:
    return Draft(
        answers.get("text", ""),
        answers.get("media_kind"),
        answers.get("media_file_id"),
        answers.get("media_filename"),
    )


def _phase_names(uow: Unit) -> dict[str, Text]:
    names: dict[str, Text] = {}
    for programme in uow.app.programmes.values():
        for phase in programme.phases:
            names.setdefault(phase.key, phase.name)
    return names


async def _audience_text(uow: Unit, audience: Audience) -> str:
    exchange = (
        await broadcasts.exchange_label(uow.session, int(audience.value))
        if audience.kind == EXCHANGE and audience.value is not None
        else None
    )
    return look.audience_text(
        uow.app.texts, uow.lang, audience, phase_names=_phase_names(uow), exchange=exchange
    )


async def _ask(uow: Unit, dialog: Dialog) -> Reply:
    answers = data.broadcast(dialog)
    step = dialog.step
    if step == "compose":
        if answers.get("preset"):
            pair = await _audience_text(uow, _audience(answers))
            return Reply("broadcast.ask_compose_pair", {"pair": pair}, buttons=(_cancel(dialog),))
        return Reply("broadcast.ask_compose", buttons=(_cancel(dialog),))
    if step == "audience":
        kinds = [_b(dialog, f"a:{kind}", key) for kind, key in look.AUDIENCE_BUTTONS]
        mine = answers.get("mine", True)
        toggle = _b(
            dialog, "scope", "broadcast.btn_scope_all" if mine else "broadcast.btn_scope_mine"
        )
        return Reply(
            "broadcast.ask_audience",
            {
                "scope": Markup(
                    uow.app.texts.get(
                        uow.lang, "broadcast.now_mine" if mine else "broadcast.now_all"
                    )
                )
            },
            buttons=(*rows(kinds, 2), (toggle,), _cancel(dialog)),
        )
    if step in ("city", "phase", "target"):
        back = (_b(dialog, "back", "broadcast.btn_back"),)
        return Reply(
            f"broadcast.ask_{step}",
            buttons=(*choice_buttons(BROADCAST_PREFIX, dialog), back, _cancel(dialog)),
        )
    if step == "read":
        return Reply(
            "broadcast.ask_read",
            buttons=(
                (
                    _b(dialog, "r:1", "broadcast.btn_read_yes"),
                    _b(dialog, "r:0", "broadcast.btn_read_no"),
                ),
                _cancel(dialog),
            ),
        )
    if step == "when":
        return Reply(
            "broadcast.ask_when",
            buttons=((_b(dialog, "now", "broadcast.btn_now"),), _cancel(dialog)),
        )
    if step == "change":
        return Reply(
            "broadcast.ask_change",
            buttons=(
                *rows(
                    [
                        _b(dialog, "c:compose", "broadcast.btn_change_text"),
                        _b(dialog, "c:audience", "broadcast.btn_change_audience"),
                        _b(dialog, "c:read", "broadcast.btn_change_read"),
                        _b(dialog, "c:when", "broadcast.btn_change_when"),
                    ],
                    2,
                ),
                (_b(dialog, "back", "broadcast.btn_to_preview"),),
                _cancel(dialog),
            ),
        )
    if step == "preview":
        return await _summary(uow, dialog)
    raise ValueError(step)


async def _summary(uow: Unit, dialog: Dialog) -> Reply:
    answers = data.broadcast(dialog)
    texts, lang = uow.app.texts, uow.lang
    audience = _audience(answers)
    reached = await broadcasts.count_recipients(
        uow.session, uow.user, audience, today=uow.app.today()
    )
    send_at = answers.get("send_at")
    when = (
        look.moment(texts, lang, datetime.fromisoformat(send_at), uow.app.settings.tz)
        if send_at
        else texts.plain(lang, "broadcast.when_now")
    )
    return Reply(
        "broadcast.summary",
        {
            "audience": await _audience_text(uow, audience),
            "count": texts.amount(lang, "broadcast.recipients", reached),
            "when": when,
            "read": texts.plain(lang, "broadcast.yes" if answers.get("read") else "broadcast.no"),
        },
        buttons=(
            (_b(dialog, f"{SEND}{answers.get('draft', '')}", "broadcast.btn_send"),),
            (_b(dialog, "change", "broadcast.btn_change"), *_cancel(dialog)),
        ),
    )


def _preview(uow: Unit, dialog: Dialog) -> Reply:
    """The message as its recipients will read it (in the coordinator's language)."""
    answers = data.broadcast(dialog)
    texts, lang = uow.app.texts, uow.lang
    kind = answers.get("media_kind")
    attachment = ""
    if kind == "photo":
        attachment = texts.get(lang, "broadcast.with_photo")
    elif kind == "document":
        attachment = texts.get(
            lang, "broadcast.with_document", name=answers.get("media_filename") or "?"
        )
    message = look.message_text(texts, lang, uow.user.display_name, answers.get("text", ""))
    return Reply(
        "broadcast.preview", {"message": Markup(message), "attachment": Markup(attachment)}
    )


# -- starting --------------------------------------------------------------------------------


async def _begin(uow: Unit, chat_id: int, *, pair: int | None = None) -> tuple[Dialog, list[Reply]]:
    """Start composing (replacing whatever this chat was doing); the past broadcasts first."""
    answers: BroadcastData = {
        "draft": secrets.token_hex(6),
        "audience": ALL if pair is None else EXCHANGE,
        "value": pair,
        "mine": pair is None,
        "preset": pair is not None,
        "read": False,
        "send_at": None,
    }
    dialog = await store.start(
        uow.session,
        chat_id=chat_id,
        user_id=uow.user.id,
        kind=BROADCAST,
        step="compose",
        data=answers,
        now=uow.app.clock.now(),
    )
    replies: list[Reply] = []
    if pair is None:
        found = await broadcasts.past(uow.session, uow.user)
        if found:
            body = look.past_list(uow.app.texts, uow.lang, found, tz=uow.app.settings.tz)
            replies.append(Reply("broadcast.past", {"body": Markup(body)}))
    replies.append(await _ask(uow, dialog))
    return dialog, replies


async def start(update: Update, context: Context) -> None:
    """/bericht: compose a message to many people (coordinators)."""
    chat_id = chat_id_of(update)

    async def answer(uow: Unit, *, may_write: bool) -> list[Reply] | None:
        try:
            await auth.require(uow.session, uow.user, Action.BROADCAST)
        except auth.NotAllowed as refusal:
            return [Reply(refusal.key)]
        if not may_write:
            return None
        return (await _begin(uow, chat_id))[1]

    await answer_reading_first(update, context, answer)


async def start_for_pair(update: Update, context: Context) -> None:
    """ "📣 Bericht aan dit koppel" (bcx:<exchange>): /bericht with that pair as audience."""
    query = update.callback_query
    assert query is not None and query.data is not None
    exchange_id = button_id(query.data, BROADCAST_EXCHANGE_PREFIX)
    replies: list[Reply] = []
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.BROADCAST)
            label = (
                await broadcasts.exchange_label(uow.session, exchange_id) if exchange_id else None
            )
            if label is None or exchange_id is None:
                raise auth.NotAllowed(Action.BROADCAST)
        except auth.NotAllowed:
            pass
        else:
            replies = (await _begin(uow, chat_id_of(update), pair=exchange_id))[1]
    if not replies:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, replies)


# -- the answers -----------------------------------------------------------------------------


def _next_after_compose(answers: BroadcastData) -> str:
    if answers.get("editing"):
        return "preview"
    return "read" if answers.get("preset") else "audience"


def _then(answers: BroadcastData, step: str) -> str:
    """The step after one answer: the preview when changing one answer from it."""
    return "preview" if answers.get("editing") else step


async def _to_preview(uow: Unit, dialog: Dialog, now: datetime) -> Turn:
    """Show the preview; with nobody in the audience, say so and ask the audience again."""
    answers = data.broadcast(dialog)
    audience = _audience(answers)
    reached = await broadcasts.count_recipients(
        uow.session, uow.user, audience, today=uow.app.today()
    )
    if not reached:
        store.advance(dialog, "audience", now, {"editing": True, "preset": False})
        nobody = Reply("broadcast.nobody", {"audience": await _audience_text(uow, audience)})
        return Turn([nobody, await _ask(uow, dialog)])
    store.advance(dialog, "preview", now, {"editing": True})
    return Turn([_preview(uow, dialog), await _ask(uow, dialog)])


def _composed(uow: Unit, dialog: Dialog, value: str, how: str) -> BroadcastData:
    """The text or file typed or sent at the compose step; InputError when unusable."""
    sender = uow.user.display_name
    texts = uow.app.texts
    if how == TEXT:
        text = value.strip()
        if not text:
            raise InputError("broadcast.empty")
        problem = look.length_problem(texts, sender, text, with_file=False)
        if problem is not None:
            raise InputError(problem[0], limit=problem[1], length=problem[2])
        return {"text": text, "media_kind": None, "media_file_id": None, "media_filename": None}
    sent = json.loads(value)
    kind = sent.get("kind")
    if kind not in broadcasts.MEDIA_KINDS:
        raise InputError("broadcast.unsupported")
    broadcasts.check_media(kind, sent.get("filename"), sent.get("mime"))
    caption = str(sent.get("caption") or "").strip()
    problem = look.length_problem(texts, sender, caption, with_file=True)
    if problem is not None:
        raise InputError(problem[0], limit=problem[1], length=problem[2])
    return {
        "text": caption,
        "media_kind": kind,
        "media_file_id": str(sent["file_id"]),
        "media_filename": sent.get("filename"),
    }


async def _step(uow: Unit, dialog: Dialog, value: str, how: str) -> Turn:
    now = uow.app.clock.now()
    step = dialog.step
    answers = data.broadcast(dialog)
    if how == BUTTON and value == "cancel":
        await store.finish(uow.session, dialog.chat_id)
        return Turn([Reply("common.cancelled")])
    if step == "compose" and how in (TEXT, MEDIA):
        composed = _composed(uow, dialog, value, how)
        broadcasts.check_draft(
            Draft(
                composed.get("text", ""), composed.get("media_kind"), composed.get("media_file_id")
            )
        )
        following = _next_after_compose(answers)
        if following == "preview":
            store.remember(dialog, now, composed)
            return await _to_preview(uow, dialog, now)
        store.advance(dialog, following, now, composed)
        return Turn([await _ask(uow, dialog)])
    if step == "when" and how == TEXT:
        at = broadcasts.read_send_at(value, now, uow.app.settings.tz)
        store.remember(dialog, now, {"send_at": at.isoformat()})
        return await _to_preview(uow, dialog, now)
    if how != BUTTON:
        return Turn([Reply("common.use_buttons"), await _ask(uow, dialog)])
    if step == "audience":
        return await _audience_step(uow, dialog, value, now)
    if step in ("city", "phase", "target"):
        return await _choice_step(uow, dialog, value, now)
    if step == "read" and value in ("r:1", "r:0"):
        store.remember(dialog, now, {"read": value == "r:1"})
        if answers.get("editing"):
            return await _to_preview(uow, dialog, now)
        store.advance(dialog, "when", now)
        return Turn([await _ask(uow, dialog)])
    if step == "when" and value == "now":
        store.remember(dialog, now, {"send_at": None})
        return await _to_preview(uow, dialog, now)
    if step == "preview" and value.startswith(SEND):
        if value != f"{SEND}{answers.get('draft')}":
            raise Expired
        return await _confirm(uow, dialog, now)
    if step == "preview" and value == "change":
        store.advance(dialog, "change", now)
        return Turn(edit=await _ask(uow, dialog))
    if step == "change" and value == "back":
        return await _to_preview(uow, dialog, now)
    if step == "change" and value in ("c:compose", "c:audience", "c:read", "c:when"):
        store.advance(dialog, value[2:], now, {"editing": True, "preset": False})
        return Turn([await _ask(uow, dialog)])
    raise Expired


async def _audience_step(uow: Unit, dialog: Dialog, value: str, now: datetime) -> Turn:
    answers = data.broadcast(dialog)
    mine = answers.get("mine", True)
    if value == "scope":
        store.remember(dialog, now, {"mine": not mine})
        return Turn(edit=await _ask(uow, dialog))
    kind = value.removeprefix("a:")
    if value == kind or kind not in broadcasts.AUDIENCE_KINDS:
        raise Expired
    if kind in (CITY, PHASE, EXCHANGE):
        options: list[str] = []
        choices: list[list[object]]
        if kind == CITY:
            options = await broadcasts.cities(uow.session, uow.user, mine=mine)
            choices = [[n, city] for n, city in enumerate(options, start=1)]
        elif kind == PHASE:
            found = await broadcasts.phases(
                uow.session,
                uow.user,
                mine=mine,
                today=uow.app.today(),
                programmes=uow.app.programmes,
            )
            options = [key for key, _ in found]
            choices = [[n, name.get(uow.lang)] for n, (_, name) in enumerate(found, start=1)]
        else:
            choices = [
                [exchange_id, label]
                for exchange_id, label in await broadcasts.labels(uow.session, uow.user, mine=mine)
            ]
        if not choices:
            return Turn([Reply("broadcast.no_pairs"), await _ask(uow, dialog)])
        step = {CITY: "city", PHASE: "phase", EXCHANGE: "target"}[kind]
        store.advance(
            dialog, step, now, {"audience": kind, "options": options, "choices": choices, "page": 0}
        )
        return Turn(edit=await _ask(uow, dialog))
    store.remember(dialog, now, {"audience": kind, "value": None})
    if answers.get("editing"):
        return await _to_preview(uow, dialog, now)
    store.advance(dialog, "read", now)
    return Turn([await _ask(uow, dialog)])


async def _choice_step(uow: Unit, dialog: Dialog, value: str, now: datetime) -> Turn:
    answers = data.broadcast(dialog)
    if value == "back":
        store.advance(dialog, "audience", now)
        return Turn(edit=await _ask(uow, dialog))
    picked = store.chosen(dialog, value)
    if picked is None:
        raise Expired
    options = answers.get("options", [])
    chosen: str | int = picked if dialog.step == "target" else options[picked - 1]
    store.remember(dialog, now, {"value": chosen})
    if answers.get("editing"):
        return await _to_preview(uow, dialog, now)
    store.advance(dialog, "read", now)
    return Turn([await _ask(uow, dialog)])


async def _confirm(uow: Unit, dialog: Dialog, now: datetime) -> Turn:
    answers = data.broadcast(dialog)
    send_at = answers.get("send_at")
    result = await broadcasts.confirm(
        uow.session,
        uow.user,
        _draft(answers),
        _audience(answers),
        read_button=bool(answers.get("read")),
        send_at=datetime.fromisoformat(send_at) if send_at else None,
        confirm_key=_confirm_key(answers.get("draft", "")),
        now=now,
        today=uow.app.today(),
    )
    if isinstance(result, broadcasts.Nobody):
        return await _to_preview(uow, dialog, now)
    await store.finish(uow.session, dialog.chat_id)
    if isinstance(result, broadcasts.AlreadySent):
        return Turn([Reply("broadcast.already_sent", {"id": result.broadcast.id})])
    texts, lang, tz = uow.app.texts, uow.lang, uow.app.settings.tz
    broadcast = result.broadcast
    count = texts.amount(lang, "broadcast.recipients", result.recipients)
    held = await outbox.delivery_time(
        uow.session, None, now=max(broadcast.send_at, now), rules=uow.app.rules
    )
    if held is not None:
        reply = Reply(
            "broadcast.held", {"count": count, "when": look.moment(texts, lang, held, tz)}
        )
    elif broadcast.send_at > now:
        when = look.moment(texts, lang, broadcast.send_at, tz)
        reply = Reply("broadcast.scheduled", {"count": count, "when": when})
    else:
        reply = Reply("broadcast.sent", {"count": count})
    return Turn([reply], queued=True)


def _confirm_key(draft: str) -> str:
    return f"{BROADCAST_PREFIX}:{draft}"


CONVERSATION = Conversation(BROADCAST, _step, _ask)


async def button(update: Update, context: Context) -> None:
    """A button of the conversation; "Versturen" once more after it went says so."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parsed = parse_button(query.data, BROADCAST_PREFIX)
    if parsed is not None and parsed[1].startswith(SEND):
        async with reading(update, context) as uow:
            lang = uow.lang
            dialog, _ended = await peek_dialog(uow, chat_id_of(update))
            current = dialog is not None and dialog.kind == BROADCAST
            earlier = await broadcasts.sent_with(
                uow.session, _confirm_key(parsed[1].removeprefix(SEND))
            )
        if earlier is not None and not current:
            await answer_callback(update, context, lang, "broadcast.already_sent_toast")
            await clear_buttons(update, context)
            return
    await dialog_answer(
        update,
        context,
        CONVERSATION,
        how=BUTTON,
        value=parsed[1] if parsed else None,
        version=parsed[0] if parsed else None,
    )


async def attachment(update: Update, context: Context) -> None:
    """A photo, file or other attachment while composing a broadcast; other chats go on to
    the handlers of group 0 (an incident's photo, "I cannot read this")."""
    message = update.effective_message
    if message is None:
        return
    async with reading(update, context) as uow:
        dialog, _ended = await peek_dialog(uow, message.chat_id)
    if dialog is None or dialog.kind != BROADCAST:
        return
    caption = clean_text(message.caption or "")
    sent: dict[str, object] = {"kind": "other"}
    if message.photo:
        sent = {"kind": "photo", "file_id": message.photo[-1].file_id, "caption": caption}
    elif message.document is not None:
        document = message.document
        sent = {
            "kind": "document",
            "file_id": document.file_id,
            "filename": document.file_name,
            "mime": document.mime_type,
            "caption": caption,
        }
    how = MEDIA if dialog.step == "compose" else TEXT
    value = json.dumps(sent) if how == MEDIA else ""
    await dialog_answer(update, context, CONVERSATION, how=how, value=value)
    raise ApplicationHandlerStop


# -- "✅ Gelezen" ------------------------------------------------------------------------------


async def read(update: Update, context: Context) -> None:
    """A recipient pressed "✅ Gelezen": stored once, and the button says it was read."""
    query = update.callback_query
    assert query is not None and query.data is not None
    broadcast_id = button_id(query.data, READ_PREFIX)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        outcome = (
            await broadcasts.mark_read(uow.session, uow.user, broadcast_id, now=uow.app.clock.now())
            if broadcast_id is not None
            else broadcasts.NOT_YOURS
        )
    await answer_callback(update, context, lang, f"broadcast.toast_{outcome}")
    if outcome != broadcasts.NOT_YOURS and broadcast_id is not None:
        app = app_context(context)
        markup = rendering.keyboard(app.texts, lang, look.read_button(broadcast_id, read=True))
        await edit_pressed(update, context, reply_markup=markup)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("bericht"), start))
    app.add_handler(CallbackQueryHandler(button, pattern=dialog_pattern(BROADCAST_PREFIX)))
    app.add_handler(
        CallbackQueryHandler(start_for_pair, pattern=action_pattern(BROADCAST_EXCHANGE_PREFIX))
    )
    app.add_handler(CallbackQueryHandler(read, pattern=action_pattern(READ_PREFIX)))
    register_dialog(app, CONVERSATION)
    # Before group 0, where photos go to an incident report: while composing a broadcast
    # they are its photo (ApplicationHandlerStop keeps them from going further).
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.ATTACHMENT,
            attachment,
        ),
        group=-1,
    )
