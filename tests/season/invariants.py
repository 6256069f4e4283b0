"""What must hold over a whole season, whatever happened in it.

Each check returns findings with evidence (who, when, what) instead of stopping at the first,
so one run shows every broken invariant at once.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.domain.outbox import PLANNED_KINDS
from bot.texts import get_texts
from bot.ui.callbacks import CHECK_PREFIX
from db.models import Exchange, ExchangePhase, Membership, OutboxMessage
from tests.season.driver import Season
from tests.season.recorder import Finding
from tests.season.transcript import AMS, SENDS, local, odd_hour

# Planned, routine pushes that are rightly not sent, by (kind, reason). Nobody needs to hear
# about these: a reminder with nothing left to do, a check-in alert when everyone is there, a
# repeat of an alarm somebody already reacted to, a proposal already answered.
ALLOWED_SKIPS = {
    ("checklist_nag", "nothing open"),
    ("checkin_missing", "everyone checked in"),
    ("incident_repeat", "acknowledged"),
    ("incident_repeat", "resolved"),
    ("date_proposal", "proposal decided"),
    # The coordinator chose to read these in the Monday summary (which lists them).
    ("member_joined", "gathered"),
    ("date_agreed", "gathered"),
    ("coordinator_week", "nothing to tell"),
}
# A send to a user who has blocked the bot fails by necessity; the bot must stop there.
BLOCKED = "Forbidden: bot was blocked by the user"
# Issue 7, point 15: a double tap may make the bot edit a message into what it already is;
# Telegram answers "not modified", which counts as success (it must never become "Sorry").
NOT_MODIFIED = "message is not modified"
SAME_TEXT_WINDOW = timedelta(minutes=1)


def no_error_handler_calls(season: Season) -> list[Finding]:
    found = [Finding("the error handler was called", e) for e in season.error_calls]
    texts = get_texts()
    sorry = texts.plain("nl", "errors.sorry")
    alert = texts.plain("nl", "errors.alert", error="", where="").split(":")[0]
    for call in season.calls:
        if call.method.lower() != "sendmessage" or not call.ok:
            continue
        text = str(call.result.get("text", "")) if isinstance(call.result, dict) else ""
        if text == sorry or text.startswith(alert):
            who = season.people.get(int(call.params["chat_id"]))
            found.append(
                Finding(
                    "a user got the error apology or a coordinator an error alert",
                    f"{local(season.calls.stamp(call).at)} to {who.name if who else '?'}: {text}",
                )
            )
    return found


def no_failed_api_calls(season: Season) -> list[Finding]:
    found = []
    for call in season.calls:
        if call.ok:
            continue
        chat = call.params.get("chat_id")
        if call.error == BLOCKED and chat is not None and int(chat) in season.ever_blocked:
            continue
        if call.method.lower().startswith("edit") and NOT_MODIFIED in (call.error or ""):
            continue
        who = season.people.get(int(chat)) if chat is not None else None
        detail = call.params.get("text") or call.params.get("caption") or ""
        found.append(
            Finding(
                "a Bot API call failed",
                f"{local(season.calls.stamp(call).at)} {call.method} to "
                f"{who.name if who else chat}: {call.error} | {str(detail)[:160]!r}",
            )
        )
    found += [Finding("the fake Bot API saw a protocol error", e) for e in season.h.tg.errors]
    return found


async def outbox_settled(season: Season) -> list[Finding]:
    """No row failed, stuck or skipped, except the routine skips listed above."""
    assert season.h.db is not None
    async with season.h.db.read() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    found = []
    for row in rows:
        who = season.people.get(row.user_id)
        where = (
            f"row {row.id} {row.kind} to {who.name if who else row.user_id} "
            f"(exchange {row.exchange_id}, due {local(row.due_at)}, key {row.dedupe_key})"
        )
        if row.status == "failed":
            found.append(Finding("an outbox row failed", f"{where}: {row.last_error}"))
        elif row.status == "sending":
            found.append(Finding("an outbox row was left sending", where))
        elif row.status == "skipped" and (row.kind, row.last_error) not in ALLOWED_SKIPS:
            found.append(
                Finding(
                    "an outbox row was skipped and nobody was told",
                    f"{where}: skipped '{row.last_error}'",
                )
            )
    return found


def uncertain_sends(season: Season) -> set[int]:
    """Sends whose outcome the bot could not know: answered after its read timeout, or with
    the connection dropped. Each may legitimately arrive once more (README, "Exactly when a
    message can arrive twice")."""
    timeout = season.h.settings.send_read_timeout_seconds
    uncertain = set()
    for index, call in enumerate(season.calls):
        if call.method.lower() in SENDS and call.duration >= timeout:
            uncertain.add(index)
    for mark in season.dropped_after:
        dropped = next(
            (i for i, c in enumerate(season.calls) if i >= mark and c.method.lower() in SENDS),
            None,
        )
        if dropped is not None:
            uncertain.add(dropped)
    return uncertain


def nothing_sent_twice(season: Season) -> list[Finding]:
    """No identical message to the same person within a minute, except one extra copy of a
    send whose outcome was unknown."""
    found = []
    uncertain = uncertain_sends(season)
    last_seen: dict[tuple[int, str], datetime] = {}
    spare: dict[tuple[int, str], int] = {}
    # In the order the sends reached Telegram: a slow send is recorded only when it is
    # answered, which can be after the bot, having given up waiting, sent its one retry.
    arrived = sorted(enumerate(season.calls), key=lambda numbered: numbered[1].timestamp)
    for index, call in arrived:
        if call.method.lower() not in SENDS or not isinstance(call.result, dict):
            continue
        chat = int(call.params["chat_id"])
        text = str(call.result.get("text") or call.result.get("caption") or "")
        key = (chat, text)
        at = season.calls.stamp(call).at
        earlier = last_seen.get(key)
        if earlier is not None and at - earlier < SAME_TEXT_WINDOW:
            if spare.get(key, 0) > 0:
                spare[key] -= 1
            else:
                who = season.people.get(chat)
                found.append(
                    Finding(
                        "the same text went to the same person twice within a minute",
                        f"{local(at)} to {who.name if who else chat}: {text[:200]!r}",
                    )
                )
        if index in uncertain:
            spare[key] = spare.get(key, 0) + 1
        last_seen[key] = at
    return found


async def outbox_rows_sent_once(season: Season) -> list[Finding]:
    """Each sent outbox row was delivered, and once: its text reached its person only once,
    or twice when a send of it had an unknown outcome."""
    assert season.h.db is not None
    async with season.h.db.read() as session:
        rows = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent"))
        )
    uncertain = uncertain_sends(season)
    # A copy is the same text with the same buttons: /incidenten shows an alert's text too,
    # but with other buttons, and is not a second delivery of it.
    text_of: dict[tuple[int, int], str] = {}
    copies: dict[tuple[int, str], int] = {}
    spare: dict[tuple[int, str], int] = {}
    for index, call in enumerate(season.calls):
        if call.method.lower() not in SENDS or not isinstance(call.result, dict):
            continue
        chat = int(call.params["chat_id"])
        text = str(call.result.get("text") or call.result.get("caption") or "")
        text += "\n" + json.dumps(call.params.get("reply_markup"), sort_keys=True)
        text_of[(chat, int(call.result["message_id"]))] = text
        copies[(chat, text)] = copies.get((chat, text), 0) + 1
        if index in uncertain:
            spare[(chat, text)] = spare.get((chat, text), 0) + 1
    found = []
    for row in rows:
        who = season.people.get(row.user_id)
        where = f"row {row.id} {row.kind} to {who.name if who else row.user_id}"
        if row.telegram_message_id is None:
            found.append(Finding("a sent outbox row has no Telegram message", where))
            continue
        text = text_of.get((row.user_id, row.telegram_message_id))
        if text is None:
            found.append(
                Finding(
                    "a sent outbox row names a message Telegram never delivered",
                    f"{where}, message {row.telegram_message_id}",
                )
            )
        elif text and copies[(row.user_id, text)] > 1 + spare.get((row.user_id, text), 0):
            found.append(
                Finding(
                    "an outbox message arrived more often than its unknown outcomes allow",
                    f"{where}: {copies[(row.user_id, text)]} copies of {text[:120]!r}",
                )
            )
    return found


async def quiet_hours_kept(season: Season) -> list[Finding]:
    """Nothing that can wait arrives at night or at the weekend (alarms may)."""
    assert season.h.db is not None
    async with season.h.db.read() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.status == "sent", OutboxMessage.urgent.is_(False)
                )
            )
        )
    found = []
    for row in rows:
        if row.sent_at is not None and odd_hour(row.sent_at):
            who = season.people.get(row.user_id)
            found.append(
                Finding(
                    "a message that could wait was sent in quiet hours",
                    f"{local(row.sent_at)} {row.kind} to {who.name if who else row.user_id}",
                )
            )
    return found


async def members_hear_of_agreed_dates(season: Season) -> list[Finding]:
    """Issue 9, point 1: when a day is agreed, every member who had joined by then hears it,
    begeleiders included (all but whoever fixed it)."""
    assert season.h.db is not None
    async with season.h.db.read() as session:
        rows = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "date_agreed"))
        )
        members = list(await session.scalars(select(Membership)))
    told: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        told.setdefault(row.dedupe_key.rsplit(":", 1)[0], []).append(row)
    found = []
    for key, group in sorted(told.items()):
        at = min(r.created_at for r in group)
        exchange_id = group[0].exchange_id
        heard = {r.user_id for r in group} | {r.sender_id for r in group}
        missing = [
            m
            for m in members
            if m.exchange_id == exchange_id and m.joined_at <= at and m.user_id not in heard
        ]
        for m in missing:
            who = season.people.get(m.user_id)
            found.append(
                Finding(
                    "a member did not hear of an agreed date",
                    f"{who.name if who else m.user_id} ({m.role}) for {key} at {local(at)}",
                )
            )
    if not told:
        found.append(Finding("no date was agreed in the season", "no date_agreed rows"))
    return found


async def outbox_census(season: Season) -> list[str]:
    """How every outbox row of the season ended, by status, kind and reason (for the reader)."""
    assert season.h.db is not None
    async with season.h.db.read() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    tally: dict[tuple[str, str, str], int] = {}
    for row in rows:
        reason = row.last_error or ""
        key = (row.status, row.kind, reason)
        tally[key] = tally.get(key, 0) + 1
    return [
        f"{status} · {kind}{f' · {reason}' if reason else ''}: {count}"
        for (status, kind, reason), count in sorted(tally.items())
    ]


def repeated_buttons(season: Season) -> list[str]:
    """Messages that show the same button label twice (a reader cannot tell them apart)."""
    found: dict[str, int] = {}
    for call in season.calls:
        if call.method.lower() not in SENDS or not call.ok:
            continue
        markup = call.params.get("reply_markup")
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        labels = [str(b.get("text")) for row in rows for b in row if isinstance(b, dict)]
        for label in {x for x in labels if labels.count(x) > 1}:
            found[label] = found.get(label, 0) + 1
    return [
        f"{count} message(s) show the button '{label}' more than once"
        for label, count in sorted(found.items(), key=lambda x: -x[1])
    ]


def _sent_markup(season: Season, row: OutboxMessage) -> dict[str, object]:
    """The inline keyboard the outbox row was sent with (the last part of a split message)."""
    found: dict[str, object] = {}
    for call in season.calls:
        if call.method.lower() not in SENDS or not call.ok or not isinstance(call.result, dict):
            continue
        if call.result.get("message_id") != row.telegram_message_id:
            continue
        if int(call.params.get("chat_id", 0)) != row.user_id:
            continue
        markup = call.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict):
            found = markup
    return found


async def unasked_messages_per_day(season: Season) -> list[Finding]:
    """Issue 9: a teacher gets at most one message the programme sends on its own (a digest,
    a reminder, …) on a normal school day — a day that is not one of their exchange days.
    Messages about what people did (a proposal, an agreed date, an alarm) are not counted:
    they are news, not routine."""
    assert season.h.db is not None
    async with season.h.db.read() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.status == "sent", OutboxMessage.kind.in_(PLANNED_KINDS)
                )
            )
        )
        members = list(
            await session.scalars(select(Membership).where(Membership.role == "teacher"))
        )
        phases = list(await session.scalars(select(ExchangePhase)))
    teaching = {(m.user_id, m.exchange_id) for m in members}
    teachers = {m.user_id for m in members}
    exchange_days: dict[int, set[date]] = {}
    for p in phases:
        if p.phase_key != "orientation":
            day = p.starts_on
            while day <= p.ends_on:
                exchange_days.setdefault(p.exchange_id, set()).add(day)
                day += timedelta(days=1)
    per_day: dict[tuple[int, date], list[OutboxMessage]] = {}
    for row in rows:
        if row.user_id not in teachers or row.sent_at is None:
            continue
        day = row.sent_at.astimezone(AMS).date()
        theirs = [x for (u, x) in teaching if u == row.user_id]
        if any(day in exchange_days.get(x, set()) for x in theirs):
            continue
        per_day.setdefault((row.user_id, day), []).append(row)
    found = []
    for (user_id, day), group in sorted(per_day.items()):
        if len(group) > 1:
            who = season.people.get(user_id)
            found.append(
                Finding(
                    "a teacher got more than one unasked message on a normal school day",
                    f"{who.name if who else user_id} on {day}: "
                    + ", ".join(f"{r.kind} at {local(r.sent_at or r.due_at)}" for r in group),
                )
            )
    return found


async def no_item_that_no_longer_applies(season: Season) -> list[Finding]:
    """Issue 9: no message offers a checklist item of a phase that was over when it was sent,
    or one that was already ticked for its reader then."""
    assert season.h.db is not None
    assert season.h.context is not None
    programmes = season.h.context.programmes
    async with season.h.db.read() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.status == "sent",
                    OutboxMessage.kind.in_(PLANNED_KINDS),
                    OutboxMessage.telegram_message_id.is_not(None),
                )
            )
        )
        exchanges = {e.id: e for e in await session.scalars(select(Exchange))}
        phases = {
            (p.exchange_id, p.phase_key): p for p in await session.scalars(select(ExchangePhase))
        }
    found = []
    for row in rows:
        exchange = exchanges.get(row.exchange_id or 0)
        if exchange is None or row.sent_at is None:
            continue
        programme = programmes[exchange.programme_key]
        day = row.sent_at.astimezone(AMS).date()
        keyboard = _sent_markup(season, row).get("inline_keyboard") or []
        for button_row in keyboard if isinstance(keyboard, list) else []:
            for button in button_row:
                data = str(button.get("callback_data", ""))
                if not data.startswith(CHECK_PREFIX):
                    continue
                item_key = data.rsplit(":", 1)[-1]
                try:
                    phase, _ = programme.checklist_item(item_key)
                except KeyError:
                    continue
                row_phase = phases.get((exchange.id, phase.key))
                if row_phase is not None and row_phase.ends_on < day:
                    who = season.people.get(row.user_id)
                    found.append(
                        Finding(
                            "a message offered a checklist item of a phase that was over",
                            f"{local(row.sent_at)} {row.kind} to "
                            f"{who.name if who else row.user_id}: '{button.get('text')}'",
                        )
                    )
                if str(button.get("text", "")).startswith("✅") and row.kind != "digest":
                    who = season.people.get(row.user_id)
                    found.append(
                        Finding(
                            "a reminder offered an item that was already ticked",
                            f"{local(row.sent_at)} {row.kind} to "
                            f"{who.name if who else row.user_id}: '{button.get('text')}'",
                        )
                    )
    return found
