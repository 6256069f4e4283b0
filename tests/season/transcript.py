"""The season as each person lived it: every message they got, and what they did.

Written by `make season` to `season-transcript.md`, for a reader who wants to judge each
message as a teacher, a begeleider or the coordinator would: is it needed, true, clear, in
good Dutch, and at a sensible hour?
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.season.cast import COORDINATOR_ID, ExchangeSpec, Person
from tests.season.driver import Season

AMS = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")
MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
SENDS = {"sendmessage", "sendphoto", "senddocument"}
EDITS = {"editmessagetext", "editmessagecaption", "editmessagereplymarkup"}


def local(moment: datetime) -> str:
    """'wo 10 feb 08:45' in Amsterdam time."""
    t = moment.astimezone(AMS)
    return f"{WEEKDAYS[t.weekday()]} {t.day} {MONTHS[t.month - 1]} {t:%H:%M}"


def odd_hour(moment: datetime) -> bool:
    t = moment.astimezone(AMS)
    return t.weekday() >= 5 or t.hour < 7 or t.hour >= 21


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    chat_id: int
    lines: list[str]
    from_bot: bool


def _buttons(markup: Any) -> str:
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return ""
    if not isinstance(markup, dict):
        return ""
    if markup.get("remove_keyboard"):
        return "(toetsenbord weg)"
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    out = []
    for row in rows:
        labels = [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
        out.append(" ".join(f"[{label}]" for label in labels))
    return " / ".join(out)


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line else ">" for line in text.splitlines() or [""]]


def bot_entries(season: Season) -> list[Entry]:
    """Every message, edit and toast the bot showed, with the fake time it happened."""
    entries: list[Entry] = []
    for call in season.calls:
        method = call.method.lower()
        stamp = season.calls.stamp(call)
        params = call.params
        failed = "" if call.ok else f" ✗ **mislukt**: {call.error}"
        if method in SENDS | EDITS | {"deletemessage"}:
            try:
                chat_id = int(params.get("chat_id"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
        elif method == "answercallbackquery":
            chat_id = season.query_user.get(str(params.get("callback_query_id")), 0)
            text = params.get("text")
            if not text and call.ok:
                continue
            line = f"*melding in beeld*: „{text}”" if text else "*knop beantwoord*"
            entries.append(Entry(stamp.seq, stamp.at, chat_id, [line + failed], True))
            continue
        else:
            continue
        result = call.result if isinstance(call.result, dict) else {}
        shown = result.get("text") or result.get("caption")
        if shown is None:
            shown = params.get("text") or params.get("caption") or ""
        if method in SENDS:
            head = "bot"
            if method == "sendphoto":
                head = "bot (foto)"
            elif method == "senddocument":
                document = result.get("document")
                name = (document or {}).get("file_name") if isinstance(document, dict) else None
                head = f"bot (bestand {name})" if name else "bot (bestand)"
            lines = [f"{head} #{result.get('message_id', '?')}{failed}", *_quote(str(shown))]
            buttons = _buttons(params.get("reply_markup"))
        elif method == "deletemessage":
            lines = [f"bot *verwijdert bericht #{params.get('message_id')}*{failed}"]
            buttons = ""
        elif method == "editmessagereplymarkup":
            buttons = _buttons(params.get("reply_markup"))
            verb = "wijzigt de knoppen onder" if buttons else "haalt de knoppen weg onder"
            lines = [f"bot *{verb} #{params.get('message_id')}*{failed}"]
        else:
            lines = [f"bot *bewerkt #{params.get('message_id')}*{failed}", *_quote(str(shown))]
            buttons = _buttons(params.get("reply_markup"))
        if buttons:
            lines.append(f"> `{buttons}`")
        entries.append(Entry(stamp.seq, stamp.at, chat_id, lines, True))
    return entries


def action_entries(season: Season) -> list[Entry]:
    verbs = {
        "typed": "typt",
        "pressed": "tikt op",
        "photo": "stuurt een foto",
        "edited": "bewerkt het bericht in",
        "blocked": "blokkeert de bot",
        "unblocked": "deblokkeert de bot",
        "system": "",
    }
    entries = []
    for action in season.log.actions:
        if action.kind == "system":
            continue
        who = season.people[action.user_id].first_name
        verb = verbs.get(action.kind, action.kind)
        if action.kind == "pressed":
            what = f"{who} {verb} [{action.text}]"
        elif action.kind in ("typed", "edited"):
            what = f"{who} {verb}: „{action.text}”"
        else:
            what = f"{who} {verb}"
        if action.note:
            what += f" ({action.note})"
        entries.append(Entry(action.seq, action.at, action.user_id, [f"**→ {what}**"], False))
    return entries


def _person_section(person: Person, entries: Iterable[Entry]) -> list[str]:
    role = {
        "teacher": "leerkracht",
        "begeleider": "begeleider",
        "coordinator": "coördinator",
        "group": "Telegram-groep",
    }
    label = role[person.role]
    if person.side:
        label += f" school {person.side}"
    out = [f"### {person.name} ({label}, id {person.user_id})", ""]
    listed = sorted(entries, key=lambda e: e.seq)
    if not listed:
        out += ["*Niets ontvangen en niets gedaan.*", ""]
    for entry in listed:
        flag = " ⏰ *buiten schooltijd*" if entry.from_bot and odd_hour(entry.at) else ""
        out.append(f"`{local(entry.at)}`{flag} {entry.lines[0]}  ")
        out += entry.lines[1:]
        out.append("")
    return out


def write(season: Season, path: Path, *, summary: list[str]) -> None:
    by_chat: dict[int, list[Entry]] = {}
    for entry in bot_entries(season) + action_entries(season):
        by_chat.setdefault(entry.chat_id, []).append(entry)
    out = [
        "# Seizoen: dertig koppels, vier weken per koppel",
        "",
        "Alle tijden in Europe/Amsterdam. `→` is wat iemand zelf deed; `>` is wat de bot liet",
        "zien, met de knoppen eronder tussen haken. ⏰ markeert berichten in het weekend of",
        "tussen 21:00 en 07:00.",
        "",
        *summary,
        "",
        "## Buiten de gesprekken om",
        "",
        *[f"- `{local(a.at)}` {a.text}" for a in season.log.actions if a.kind == "system"],
        "",
        "## Coördinator",
        "",
        *_person_section(season.people[COORDINATOR_ID], by_chat.get(COORDINATOR_ID, [])),
    ]
    spec: ExchangeSpec
    for spec in season.exchanges:
        out += [
            f"## Koppel {spec.number} (uitwisseling #{spec.exchange_id}): {spec.label}, "
            f"start {spec.start:%d-%m-%Y}, {'via /nieuw' if spec.via_bot else 'geïmporteerd'}",
            "",
        ]
        for person in spec.teachers + spec.begeleiders:
            out += _person_section(person, by_chat.get(person.user_id, []))
    groups = sorted(chat for chat in by_chat if chat < 0)
    if groups:
        out += ["## Telegram-groepen", ""]
    for chat in groups:
        group = Person(chat, f"Groep {chat}", "group")
        out += _person_section(group, by_chat[chat])
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
