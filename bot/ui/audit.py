"""A pair's log as coordinators read it: one line per change, newest first.

"di 10 feb 14:05 · Anna (coördinator): Dag 1 verzet naar donderdag 12 februari, 09:00 (was
woensdag 11 februari)". The entries keep plain values (bot/services/audit.py); the words are
written here, in the reader's language, from the [audit] texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.dates import format_date, format_time
from bot.domain.programme import Programme
from bot.services import audit, exchanges
from bot.services.members import Actor, LogPage
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui.manage import role_text
from bot.ui.replies import Btn, Reply
from db.models import AuditEntry, Exchange


def stamp(texts: Texts, lang: str, at: datetime, tz: ZoneInfo) -> str:
    """ "di 10 feb 14:05": short, for a list."""
    local = at.astimezone(tz)
    weekdays = texts.plain(lang, "audit.weekdays").split()
    months = texts.plain(lang, "audit.months").split()
    return (
        f"{weekdays[local.weekday()]} {local.day} {months[local.month - 1]} "
        f"{format_time(local.time())}"
    )


def who(texts: Texts, lang: str, exchange: Exchange, actor: Actor | None) -> str:
    """ "Anna (coördinator)", "Anouk (leerkracht van De Avonturijn)", or the bot itself."""
    if actor is None:
        return texts.plain(lang, "audit.who_system")
    if actor.is_coordinator:
        return texts.plain(lang, "audit.who_coordinator", name=actor.name)
    if actor.role is not None:
        role = role_text(texts, lang, exchange, actor.role, actor.side)
        return texts.plain(lang, "audit.who_member", name=actor.name, role=role)
    return actor.name


def _phase(programme: Programme | None, key: object, lang: str) -> str:
    if programme is not None and isinstance(key, str):
        try:
            return programme.phase(key).name.get(lang)
        except KeyError:
            pass
    return str(key)


def _day(value: object, lang: str) -> str:
    try:
        return format_date(date.fromisoformat(str(value)), lang)
    except ValueError:
        return "?"


def _when(details: Mapping[str, Any], lang: str) -> str:
    day = _day(details.get("day"), lang)
    raw = details.get("time")
    if not raw:
        return day
    try:
        return f"{day}, {format_time(time.fromisoformat(str(raw)))}"
    except ValueError:
        return day


def _school(exchange: Exchange, side: object) -> str:
    if side in ("A", "B"):
        return exchanges.side_of(exchange, str(side)).school.name
    return "?"


def _value(texts: Texts, lang: str, field: object, value: object) -> str:
    if value is None or value == "":
        return texts.plain(lang, "audit.empty_value")
    if field == "region":
        key = f"region.{value}"
        return texts.plain(lang, key) if texts.has(key) else str(value)
    return str(value)


def what(
    texts: Texts, lang: str, entry: AuditEntry, exchange: Exchange, programme: Programme | None
) -> str:
    """What the entry changed, in a sentence."""
    d: Mapping[str, Any] = entry.details or {}
    key = f"audit.{entry.action}"
    if entry.action == audit.EXCHANGE_CREATED:
        if d.get("via") == "import":
            key = "audit.exchange_imported"
        return texts.get(lang, key, start=_day(d.get("start"), lang))
    if entry.action == audit.EXCHANGE_EDITED:
        field = d.get("field")
        field_key = f"audit.field_{field}" if field in ("school", "class", "region") else None
        label = (
            texts.plain(
                lang, field_key, school=_school(exchange, d.get("side")), side=d.get("side")
            )
            if field_key
            else str(field)
        )
        return texts.get(
            lang,
            key,
            what=label,
            old=_value(texts, lang, field, d.get("old")),
            new=_value(texts, lang, field, d.get("new")),
        )
    if entry.action == audit.CLASS_SIZE:
        return texts.get(
            lang,
            key,
            school=_school(exchange, d.get("side")),
            old=d.get("old", "?"),
            new=d.get("new", "?"),
        )
    if entry.action == audit.SCHOOL_ADDRESS:
        if not d.get("address"):
            return texts.get(lang, "audit.school_address_cleared", school=d.get("school", "?"))
        return texts.get(lang, key, school=d.get("school", "?"), address=d["address"])
    if entry.action in (audit.DATE_SET, audit.DATE_AGREED):
        phase = _phase(programme, d.get("phase"), lang)
        if entry.action == audit.DATE_SET and d.get("old_day"):
            return texts.get(
                lang,
                "audit.date_moved",
                phase=phase,
                when=_when(d, lang),
                old=_day(d.get("old_day"), lang),
            )
        return texts.get(lang, key, phase=phase, when=_when(d, lang))
    if entry.action in (audit.INVITE_MADE, audit.INVITE_REVOKED):
        role = role_text(texts, lang, exchange, str(d.get("role", "")), d.get("side"))
        return texts.get(lang, key, role=role)
    if entry.action in (audit.MEMBER_JOINED, audit.MEMBER_REMOVED):
        role = role_text(texts, lang, exchange, str(d.get("role", "")), d.get("side"))
        return texts.get(lang, key, name=d.get("name", "?"), role=role)
    if entry.action == audit.BEGELEIDER_DAYS:
        days = d.get("days")
        name = d.get("name", "?")
        if days is None:
            return texts.get(lang, "audit.begeleider_days_all", name=name)
        if not days:
            return texts.get(lang, "audit.begeleider_days_none", name=name)
        names = ", ".join(_phase(programme, k, lang) for k in days)
        return texts.get(lang, key, name=name, days=names)
    if entry.action in (audit.GROUP_LINKED, audit.GROUP_UNLINKED):
        why = d.get("why")
        if entry.action == audit.GROUP_UNLINKED and why in ("removed", "command"):
            return texts.get(
                lang,
                "audit.group_unlinked_why",
                title=d.get("title", "?"),
                why=texts.plain(lang, f"audit.why_{why}"),
            )
        return texts.get(lang, key, title=d.get("title", "?"))
    if texts.has(key):
        return texts.get(lang, key)
    return entry.action


def log_view(
    texts: Texts,
    lang: str,
    page: LogPage,
    programme: Programme | None,
    *,
    tz: ZoneInfo,
    first: bool = True,
) -> Reply:
    """A page of the log, newest first, with 'Oudere…' while there are older entries."""
    exchange = page.exchange
    lines = [
        texts.get(
            lang,
            "audit.line",
            when=stamp(texts, lang, entry.at, tz),
            who=who(
                texts,
                lang,
                exchange,
                page.actors.get(entry.user_id) if entry.user_id is not None else None,
            ),
            what=Markup(what(texts, lang, entry, exchange, programme)),
        )
        for entry in page.entries
    ]
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if page.older is not None:
        buttons = ((Btn(callbacks.log_page(exchange.id, page.older), key="audit.btn_older"),),)
    params = {
        "id": exchange.id,
        "title": exchanges.title(exchange),
        "lines": Markup("\n".join(lines)),
    }
    if not lines:
        return Reply("audit.empty", params)
    return Reply("audit.log" if first else "audit.log_older", params, buttons=buttons)
