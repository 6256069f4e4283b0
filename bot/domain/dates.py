"""Dates and times as users type them (Dutch first, English second) and as the bot writes them."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from bot.domain.programme import language

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("januari", "january", "jan"),
        ("februari", "february", "feb", "febr"),
        ("maart", "march", "mrt", "mar"),
        ("april", "apr"),
        ("mei", "may"),
        ("juni", "june", "jun"),
        ("juli", "july", "jul"),
        ("augustus", "august", "aug"),
        ("september", "sep", "sept"),
        ("oktober", "october", "okt", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _number

_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("maandag", "ma", "monday", "mon"),
        ("dinsdag", "di", "tuesday", "tue", "tues"),
        ("woensdag", "wo", "wednesday", "wed"),
        ("donderdag", "do", "thursday", "thu", "thur", "thurs"),
        ("vrijdag", "vr", "vrij", "friday", "fri"),
        ("zaterdag", "za", "saturday", "sat"),
        ("zondag", "zo", "sunday", "sun"),
    )
):
    for _name in _names:
        _WEEKDAYS[_name] = _number

_RELATIVE = {
    "vandaag": 0,
    "today": 0,
    "morgen": 1,
    "tomorrow": 1,
    "overmorgen": 2,
}

_NL_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_NL_WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_WORD = r"[a-zà-ÿ]+"
_DAY = r"(?P<day>[0-9]{1,2})(?:e|ste|de|st|nd|rd|th)?"
_YEAR = r"(?P<year>[0-9]{4}|'?[0-9]{2})"
_WEEKDAY_PREFIX = rf"(?:(?P<weekday>{_WORD})\.?,?\s+)?"

_ISO = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})")
_NUMERIC = re.compile(
    _WEEKDAY_PREFIX
    + r"(?P<day>[0-9]{1,2})\s*(?P<sep>[-/.])\s*(?P<month>[0-9]{1,2})"
    + r"(?:\s*(?P=sep)\s*(?P<year>[0-9]{4}|[0-9]{2}))?"
)
_DAY_MONTH = re.compile(_WEEKDAY_PREFIX + _DAY + rf"\s+(?P<month>{_WORD})\.?(?:,?\s+{_YEAR})?")
_MONTH_DAY = re.compile(
    _WEEKDAY_PREFIX + rf"(?P<month>{_WORD})\.?\s+" + _DAY + rf"(?:,?\s+{_YEAR})?"
)

_TIME = re.compile(
    r"(?P<hour>[0-9]{1,2})(?:\s*[:.]\s*(?P<minute>[0-9]{2}))?"
    r"\s*(?P<suffix>u|uur|h|am|pm|a\.m\.|p\.m\.)?"
)


class DateParseError(ValueError):
    """Text that is not a date or time.

    `reason` is "unrecognised" (not a form we read), "nonexistent" (31-02, 25:00) or
    "weekday_mismatch" (the weekday typed is not the weekday of that date; `parsed` holds the
    date, so the reply can say which weekday it is).
    """

    def __init__(self, reason: str, text: str = "", parsed: date | None = None) -> None:
        super().__init__(f"{reason}: {text!r}" if text else reason)
        self.reason = reason
        self.text = text
        self.parsed = parsed


def parse_date(text: str, today: date) -> date:
    """A date as typed; without a year, the first such date on or after `today`."""
    cleaned = " ".join(text.lower().split())
    if cleaned in _RELATIVE:
        return today + timedelta(days=_RELATIVE[cleaned])

    match = _ISO.fullmatch(cleaned)
    if match:
        return _build(text, int(match["year"]), int(match["month"]), int(match["day"]), today)

    for pattern in (_NUMERIC, _DAY_MONTH, _MONTH_DAY):
        match = pattern.fullmatch(cleaned)
        if not match:
            continue
        month_text = match["month"]
        if month_text.isdigit():
            month = int(month_text)
        elif month_text in _MONTHS:
            month = _MONTHS[month_text]
        else:
            continue
        weekday = match["weekday"]
        if weekday is not None and weekday not in _WEEKDAYS:
            continue
        year = _year(match["year"])
        result = _build(text, year, month, int(match["day"]), today)
        if weekday is not None and _WEEKDAYS[weekday] != result.weekday():
            raise DateParseError("weekday_mismatch", text, result)
        return result
    raise DateParseError("unrecognised", text)


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    digits = raw.lstrip("'")
    # Two digits are this century: nobody plans an exchange in 1927.
    return 2000 + int(digits) if len(digits) == 2 else int(digits)


def _build(text: str, year: int | None, month: int, day: int, today: date) -> date:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise DateParseError("nonexistent", text)
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            raise DateParseError("nonexistent", text) from None
    # The next occurrence; 29 February may be up to eight years away (e.g. 2096 → 2104).
    for candidate_year in range(today.year, today.year + 9):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise DateParseError("nonexistent", text)


def parse_time(text: str) -> time:
    """A time of day as typed: "8:45", "08.45", "9u", "9 uur", "13:00", "1 pm"."""
    cleaned = " ".join(text.lower().split())
    match = _TIME.fullmatch(cleaned)
    # A bare number is a time only with a suffix ("9u"); "9" alone or "845" is too ambiguous.
    if not match or (match["minute"] is None and match["suffix"] is None):
        raise DateParseError("unrecognised", text)
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    suffix = (match["suffix"] or "").replace(".", "")
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise DateParseError("nonexistent", text)
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise DateParseError("nonexistent", text)
    return time(hour, minute)


def format_date(d: date, lang: str, *, weekday: bool = True, year: bool = False) -> str:
    """E.g. "woensdag 10 maart" or "Wednesday 10 March"; Dutch writes these in lower case."""
    english = language(lang) == "en"
    months, weekdays = (_EN_MONTHS, _EN_WEEKDAYS) if english else (_NL_MONTHS, _NL_WEEKDAYS)
    parts = [weekdays[d.weekday()]] if weekday else []
    parts += [str(d.day), months[d.month - 1]]
    if year:
        parts.append(str(d.year))
    return " ".join(parts)


def format_time(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"
