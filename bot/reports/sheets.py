"""The export as tables: one per topic, headers and words from the catalogue, typed cells.

The workbook (workbook.py) and the CSV files (csvzip.py) are both written from these tables, so
they always hold the same rows. Cells keep their type: a date stays a `date`, a moment a
(local, naive) `datetime`, a count an `int`; only the words are in the reader's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from bot.domain.programme import Text
from bot.reports.labels import CATEGORY as _CATEGORY
from bot.reports.labels import SEVERITY as _SEVERITY
from bot.services.checklists import GONE
from bot.services.export import ExchangeRow, Export, Gathered, Words
from bot.texts import Texts

Kind = Literal["text", "int", "date", "datetime", "time", "percent"]
Cell = str | int | float | date | datetime | time | None


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Sheet:
    key: str  # the catalogue key of its title, also what names its CSV file
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]


_STATUS = {"active": "export.status_active", "archived": "export.status_archived"}
_INCIDENT_STATUS = {
    "open": "export.incident_open",
    "acknowledged": "export.incident_acknowledged",
    "resolved": "export.incident_resolved",
}
_BROADCAST_STATUS = {
    "scheduled": "export.broadcast_scheduled",
    "sending": "export.broadcast_sending",
    "done": "export.broadcast_done",
    "cancelled": "export.broadcast_cancelled",
}
_REGION = {"noord": "region.noord", "midden": "region.midden", "zuid": "region.zuid"}
_MOMENT = {
    "arrival": "headcounts.moment_arrival",
    "departure": "headcounts.moment_departure",
    "back": "headcounts.moment_back",
    "end": "headcounts.moment_end",
    "free": "headcounts.moment_free",
}
_MEDIA = {"photo": "export.media_photo", "document": "export.media_document"}


class Reader:
    """Turns stored values into the reader's words."""

    def __init__(self, texts: Texts, lang: str, tz: ZoneInfo) -> None:
        self.texts = texts
        self.lang = lang
        self.tz = tz

    def __call__(self, key: str, **params: object) -> str:
        return self.texts.plain(self.lang, key, **params)

    def label(self, table: dict[str, str], value: str | None) -> str | None:
        """A stored code ("urgent") in words; an unknown code as it is."""
        if value is None:
            return None
        key = table.get(value)
        return self(key) if key is not None else value

    def yes_no(self, value: bool | None) -> str | None:
        if value is None:
            return None
        return self("export.yes") if value else self("export.no")

    def local(self, moment: datetime | None) -> datetime | None:
        """A stored (UTC) moment as Amsterdam wall-clock time: spreadsheets know no zones."""
        if moment is None:
            return None
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def words(self, value: Words | None) -> str | None:
        if value is None:
            return None
        return value.get(self.lang) if isinstance(value, Text) else value

    def who(self, name: str | None) -> str | None:
        return self("export.gone") if name == GONE else name

    def holder(
        self,
        exchange: ExchangeRow | None,
        group: str,
        side: str | None,
        name: str | None,
        role: str | None,
    ) -> str:
        if group == "pair":
            return self("export.holder_pair")
        if group == "class" and side is not None:
            school = exchange.school(side) if exchange is not None else side
            return self("export.holder_class", school=school)
        key = "export.holder_begeleider" if role == "begeleider" else "export.holder_teacher"
        return self(key, name=self.who(name) or "")

    def host(self, host: str, school: str | None) -> str:
        if school is not None:
            return school
        if host == "online":
            return self("export.host_online")
        return self("export.host_both")

    def audience(self, audience: dict[str, object], phase: Words | None) -> str:
        kind = audience.get("kind")
        value = audience.get("value")
        if kind == "all":
            return self("export.audience_all")
        if kind == "teachers":
            return self("export.audience_teachers")
        if kind == "begeleiders":
            return self("export.audience_begeleiders")
        if kind == "city":
            return self("export.audience_city", city=value)
        if kind == "phase":
            return self("export.audience_phase", phase=self.words(phase) or value)
        if kind == "exchange":
            return self("export.audience_exchange", id=value)
        return str(kind or "")


def _percent(done: int, total: int) -> float | None:
    return done / total if total else None


def sheets(export: Export, texts: Texts, lang: str, tz: ZoneInfo) -> list[Sheet]:
    """Every table of the export, in the order of the workbook's tabs."""
    w = Reader(texts, lang, tz)
    pairs = {e.id: e for e in export.exchanges}

    def title(exchange_id: int) -> str | None:
        found = pairs.get(exchange_id)
        return found.title if found is not None else None

    def sheet(key: str, columns: Sequence[tuple[str, Kind]], rows: list[tuple[Cell, ...]]) -> Sheet:
        return Sheet(key, w(key), tuple(Column(w(h), kind) for h, kind in columns), rows)

    purged = w("export.purged")
    out = [
        sheet(
            "export.sheet_exchanges",
            (
                ("export.col_exchange", "int"),
                ("export.col_pair", "text"),
                ("export.col_city", "text"),
                ("export.col_region", "text"),
                ("export.col_programme", "text"),
                ("export.col_status", "text"),
                ("export.col_school_a", "text"),
                ("export.col_class_a", "text"),
                ("export.col_size_a", "int"),
                ("export.col_school_b", "text"),
                ("export.col_class_b", "text"),
                ("export.col_size_b", "int"),
                ("export.col_start", "date"),
                ("export.col_created", "datetime"),
            ),
            [
                (
                    e.id,
                    e.title,
                    e.city,
                    w.label(_REGION, e.region),
                    w.words(e.programme),
                    w.label(_STATUS, e.status),
                    e.school_a,
                    e.class_a,
                    e.size_a,
                    e.school_b,
                    e.class_b,
                    e.size_b,
                    e.start_date,
                    w.local(e.created_at),
                )
                for e in export.exchanges
            ],
        ),
        sheet(
            "export.sheet_dates",
            (
                ("export.col_exchange", "int"),
                ("export.col_pair", "text"),
                ("export.col_phase", "text"),
                ("export.col_from", "date"),
                ("export.col_to", "date"),
                ("export.col_time", "time"),
                ("export.col_where", "text"),
                ("export.col_agreed", "text"),
            ),
            [
                (
                    d.exchange_id,
                    title(d.exchange_id),
                    w.words(d.phase),
                    d.starts_on,
                    d.ends_on,
                    d.start_time,
                    w.host(d.host, d.host_school),
                    # A week needs no agreement: only days are agreed between the schools.
                    w.yes_no(d.agreed) if d.kind == "day" else None,
                )
                for d in export.dates
            ],
        ),
        sheet(
            "export.sheet_checklists",
            (
                ("export.col_exchange", "int"),
                ("export.col_pair", "text"),
                ("export.col_holder", "text"),
                ("export.col_done", "int"),
                ("export.col_total", "int"),
                ("export.col_percent", "percent"),
            ),
            [
                (
                    c.exchange_id,
                    title(c.exchange_id),
                    w.holder(pairs.get(c.exchange_id), c.group, c.side, c.name, c.role),
                    c.done,
                    c.total,
                    _percent(c.done, c.total),
                )
                for c in export.checklists
            ],
        ),
        sheet(
            "export.sheet_checklist_items",
            (
                ("export.col_exchange", "int"),
                ("export.col_pair", "text"),
                ("export.col_holder", "text"),
                ("export.col_phase", "text"),
                ("export.col_item", "text"),
                ("export.col_deadline", "date"),
                ("export.col_ticked", "text"),
                ("export.col_by", "text"),
                ("export.col_at", "datetime"),
            ),
            [
                (
                    i.exchange_id,
                    title(i.exchange_id),
                    w.holder(pairs.get(i.exchange_id), i.group, i.side, i.name, i.role),
                    w.words(i.phase),
                    w.words(i.item),
                    i.deadline,
                    w.yes_no(i.done_at is not None),
                    w.who(i.done_by),
                    w.local(i.done_at),
                )
                for i in export.checklist_items
            ],
        ),
        sheet(
            "export.sheet_headcounts",
            (
                ("export.col_exchange", "int"),
                ("export.col_pair", "text"),
                ("export.col_day", "date"),
                ("export.col_school", "text"),
                ("export.col_moment", "text"),
                ("export.col_count", "int"),
                ("export.col_class_size", "int"),
                ("export.col_previous", "int"),
                ("export.col_previous_moment", "text"),
                ("export.col_recorded", "datetime"),
                ("export.col_by", "text"),
            ),
            [
                (
                    h.exchange_id,
                    title(h.exchange_id),
                    h.day,
                    _school(pairs.get(h.exchange_id), h.side),
                    w.label(_MOMENT, h.moment),
                    h.count,
                    _size(pairs.get(h.exchange_id), h.side),
                    h.previous_count,
                    w.label(_MOMENT, h.previous_moment),
                    w.local(h.recorded_at),
                    w.who(h.recorded_by),
                )
                for h in export.headcounts
            ],
        ),
        sheet(
            "export.sheet_checkins",
            (
                ("export.col_exchange", "int"),
                ("export.col_pair", "text"),
                ("export.col_day", "date"),
                ("export.col_phase", "text"),
                ("export.col_name", "text"),
                ("export.col_checked_in", "datetime"),
                ("export.col_checked_out", "datetime"),
                ("export.col_rating", "int"),
                ("export.col_tension", "text"),
                ("export.col_tension_note", "text"),
                ("export.col_remarks", "text"),
            ),
            [
                (
                    c.exchange_id,
                    title(c.exchange_id),
                    c.day,
                    w.words(c.phase),
                    c.name,
                    w.local(c.checked_in_at),
                    w.local(c.checked_out_at),
                    c.rating,
                    w.yes_no(c.tension),
                    # A note is asked for only when tension was reported; remarks at every
                    # check-out. Those are what retention deleted.
                    purged if c.purged and c.tension else c.tension_note,
                    purged if c.purged and c.checked_out_at is not None else c.remarks,
                )
                for c in export.checkins
            ],
        ),
        sheet(
            "export.sheet_incidents",
            (
                ("export.col_incident", "int"),
                ("export.col_exchange", "int"),
                ("export.col_pair", "text"),
                ("export.col_category", "text"),
                ("export.col_severity", "text"),
                ("export.col_status", "text"),
                ("export.col_team", "int"),
                ("export.col_reported_by", "text"),
                ("export.col_reported_at", "datetime"),
                ("export.col_seen_at", "datetime"),
                ("export.col_resolved_at", "datetime"),
                ("export.col_description", "text"),
                ("export.col_photo", "text"),
            ),
            [
                (
                    i.id,
                    i.exchange_id,
                    title(i.exchange_id),
                    w.label(_CATEGORY, i.category),
                    w.label(_SEVERITY, i.severity),
                    w.label(_INCIDENT_STATUS, i.status),
                    i.team,
                    w.who(i.reported_by),
                    w.local(i.created_at),
                    w.local(i.acknowledged_at),
                    w.local(i.resolved_at),
                    purged if i.purged else i.description,
                    purged if i.purged else w.yes_no(i.photo),
                )
                for i in export.incidents
            ],
        ),
        sheet(
            "export.sheet_broadcasts",
            (
                ("export.col_broadcast", "int"),
                ("export.col_send_at", "datetime"),
                ("export.col_by", "text"),
                ("export.col_audience", "text"),
                ("export.col_text", "text"),
                ("export.col_attachment", "text"),
                ("export.col_status", "text"),
                ("export.col_recipients", "int"),
                ("export.col_delivered", "int"),
                ("export.col_blocked", "int"),
                ("export.col_failed", "int"),
                ("export.col_waiting", "int"),
                ("export.col_read", "int"),
            ),
            [
                (
                    b.id,
                    w.local(b.send_at),
                    w.who(b.created_by),
                    w.audience(dict(b.audience), b.audience_phase),
                    b.text,
                    w.label(_MEDIA, b.media_kind),
                    w.label(_BROADCAST_STATUS, b.status),
                    b.recipients,
                    b.delivered,
                    b.blocked,
                    b.failed,
                    b.waiting,
                    b.read,
                )
                for b in export.broadcasts
            ],
        ),
    ]
    return out


def _school(exchange: ExchangeRow | None, side: str) -> str:
    return exchange.school(side) if exchange is not None else side


def _size(exchange: ExchangeRow | None, side: str) -> int | None:
    return exchange.size(side) if exchange is not None else None


def export_date(export: Export | Gathered, tz: ZoneInfo) -> date:
    """The local day the export was made (its rows read), for file names and captions."""
    return export.generated_at.astimezone(tz).date()
