"""Holidays: Dutch public holidays, and the school holidays a coordinator imports per region.

Public holidays are worked out here by the rules of the Dutch calendar (their names are in the
message catalogue). School holidays differ per region and per school year and are imported
from a file: a CSV a coordinator makes, or the .ics files the Dutch government publishes per
region. Parsing gets text or bytes handed in; nothing here reads files.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import icalendar

from bot.domain.programme import language

REGIONS = ("noord", "midden", "zuid")
ALL_REGIONS = ("alle", "all")
# The school_holidays table keeps a name of at most this many characters.
MAX_NAME_LENGTH = 100
COLUMNS = ("region", "name", "start", "end")
# Coordinators make these files in Dutch spreadsheets as often as in English ones.
_COLUMN_ALIASES = {
    "region": "region",
    "regio": "region",
    "name": "name",
    "naam": "name",
    "vakantie": "name",
    "start": "start",
    "begin": "start",
    "van": "start",
    "startdatum": "start",
    "begindatum": "start",
    "end": "end",
    "eind": "end",
    "einde": "end",
    "tot": "end",
    "t/m": "end",
    "einddatum": "end",
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DUTCH_DATE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class HolidayPeriod:
    region: str
    name: str
    starts_on: date
    ends_on: date  # inclusive


class HolidayFileError(ValueError):
    """A holiday file that cannot be imported; `line` is 1-based (None when not known).

    `key` names the problem in the message catalogue's [holiday_file] section and `params` fills
    it in; the command line renders it in the coordinator's language. `str()` is for logs.
    """

    def __init__(self, line: int | None, key: str, /, **params: object) -> None:
        detail = " ".join(f"{name}={value!r}" for name, value in params.items())
        message = f"{key} {detail}" if detail else key
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.key = key
        self.params: dict[str, object] = params


# -- public holidays ------------------------------------------------------------------------


def _easter(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> dict[date, tuple[str, ...]]:
    """The year's public holidays, each day with its keys in the catalogue (`public_holiday.*`;
    two when two holidays fall on one day, as Liberation Day and Ascension Day in 2005).

    As the `holidays` package has them (tests/domain/test_holidays.py compares the two): Good
    Friday included, Liberation Day only every fifth year, King's Day on 27 April or on the
    Saturday before when that is a Sunday (Queen's Day on 30 April before 2014). Worked out
    here rather than by that package, which loads every country's calendar, some 3.5 MB."""
    royal, royal_key = (
        (date(year, 4, 27), "kings_day") if year >= 2014 else (date(year, 4, 30), "queens_day")
    )
    if royal.weekday() == 6:
        royal -= timedelta(days=1)
    easter = _easter(year)
    named = [
        (date(year, 1, 1), "new_year"),
        (royal, royal_key),
        *([(date(year, 5, 5), "liberation_day")] if year % 5 == 0 else []),
        (date(year, 12, 25), "christmas"),
        (date(year, 12, 26), "second_christmas"),
        (easter - timedelta(days=2), "good_friday"),
        (easter, "easter"),
        (easter + timedelta(days=1), "easter_monday"),
        (easter + timedelta(days=39), "ascension"),
        (easter + timedelta(days=49), "pentecost"),
        (easter + timedelta(days=50), "pentecost_monday"),
    ]
    days: dict[date, tuple[str, ...]] = {}
    for day, key in named:
        days[day] = (*days.get(day, ()), key)
    return days


def is_public_holiday(d: date) -> bool:
    """Whether `d` is a public holiday in the Netherlands.

    Liberation Day counts only every fifth year, and Good Friday counts, as the `holidays`
    package has them.
    """
    return d in _public_holidays(d.year)


def public_holiday_name(d: date, lang: str) -> str | None:
    """The holiday's name in the user's language ("Koningsdag", "King's Day"), or None."""
    keys = _public_holidays(d.year).get(d)
    if keys is None:
        return None
    from bot.texts import get_texts

    texts, lang = get_texts(), language(lang)
    # Two on one day in alphabetical order, as the package writes them.
    return "; ".join(sorted(texts.plain(lang, f"public_holiday.{key}") for key in keys))


def in_periods(d: date, periods: Sequence[tuple[date, date]]) -> bool:
    """Whether `d` lies in one of the inclusive (first, last) periods."""
    return any(first <= d <= last for first, last in periods)


# -- CSV ------------------------------------------------------------------------------------


def parse_holiday_csv(text: str) -> list[HolidayPeriod]:
    """School holidays from a CSV with the columns region, name, start and end.

    The first non-empty line is the header (Dutch column names work too); the separator is a
    comma or a semicolon (what Dutch Excel writes). Dates are dd-mm-yyyy or yyyy-mm-dd. Region is
    noord, midden or zuid, or alle/all for one period in every region. Lines starting with # are
    comments. The periods come back in file order; the first problem raises HolidayFileError with
    its line number.
    """
    lines = text.removeprefix("\ufeff").splitlines()
    columns: dict[str, int] | None = None
    delimiter = ","
    periods: list[HolidayPeriod] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if columns is None:
            # Dutch spreadsheets write semicolons because the comma is their decimal mark.
            delimiter = ";" if line.count(";") > line.count(",") else ","
            columns = _header(_cells(line, delimiter), number)
            continue
        cells = _cells(line, delimiter)
        # Spreadsheets pad rows with empty cells up to the widest row.
        while len(cells) > len(columns) and not cells[-1]:
            cells.pop()
        width = max(columns.values()) + 1
        if len(cells) < width:
            raise HolidayFileError(
                number,
                "holiday_file.column_count",
                expected=width,
                separator=delimiter,
                found=len(cells),
            )
        periods.extend(_row({name: cells[index] for name, index in columns.items()}, number))
    if columns is None:
        raise HolidayFileError(None, "holiday_file.empty", columns=",".join(COLUMNS))
    return periods


def _cells(line: str, delimiter: str) -> list[str]:
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter))]


def _header(cells: list[str], number: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if not cell:
            continue
        name = _COLUMN_ALIASES.get(cell.lower())
        if name is None:
            raise HolidayFileError(
                number, "holiday_file.unknown_column", column=cell, columns=",".join(COLUMNS)
            )
        if name in columns:
            raise HolidayFileError(number, "holiday_file.duplicate_column", column=name)
        columns[name] = index
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        raise HolidayFileError(
            number,
            "holiday_file.missing_columns",
            missing=", ".join(missing),
            columns=",".join(COLUMNS),
        )
    return columns


def _row(row: dict[str, str], number: int) -> list[HolidayPeriod]:
    region = row["region"].lower()
    regions: tuple[str, ...]
    if region in ALL_REGIONS:
        regions = REGIONS
    elif region in REGIONS:
        regions = (region,)
    else:
        raise HolidayFileError(
            number, "holiday_file.unknown_region", region=row["region"], regions=", ".join(REGIONS)
        )
    name = _name(row["name"], number)
    starts_on = _date(row["start"], number, "start")
    ends_on = _date(row["end"], number, "end")
    if ends_on < starts_on:
        raise HolidayFileError(
            number,
            "holiday_file.end_before_start",
            start=starts_on.isoformat(),
            end=ends_on.isoformat(),
        )
    return [HolidayPeriod(r, name, starts_on, ends_on) for r in regions]


def _name(raw: str, number: int) -> str:
    name = " ".join(raw.split())
    if not name:
        raise HolidayFileError(number, "holiday_file.name_empty")
    if len(name) > MAX_NAME_LENGTH:
        raise HolidayFileError(number, "holiday_file.name_too_long", max=MAX_NAME_LENGTH)
    return name


def _date(raw: str, number: int, column: str) -> date:
    iso = _ISO_DATE.fullmatch(raw)
    dutch = _DUTCH_DATE.fullmatch(raw)
    if iso:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
    elif dutch:
        year, month, day = int(dutch[4]), int(dutch[3]), int(dutch[1])
    else:
        raise HolidayFileError(number, "holiday_file.not_a_date", column=column, value=raw)
    try:
        return date(year, month, day)
    except ValueError:
        raise HolidayFileError(
            number, "holiday_file.no_such_date", column=column, value=raw
        ) from None


# -- iCalendar ------------------------------------------------------------------------------


def parse_holiday_ics(data: bytes, region: str) -> list[HolidayPeriod]:
    """School holidays from an iCalendar file, all for `region` (such files are per region).

    All-day events end the day before their (exclusive) DTEND; timed events cover the local
    (Amsterdam) dates they touch, where an end at exactly midnight does not touch its day.
    SUMMARY is the name; cancelled events are left out. Sorted by start.
    """
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; use one of {', '.join(REGIONS)}")
    # Loaded for an import only (bot/domain/calendar.py says why).
    import icalendar

    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except ValueError as exc:
        raise HolidayFileError(None, "holiday_file.not_icalendar", error=str(exc)) from exc
    if not calendars:
        raise HolidayFileError(None, "holiday_file.no_calendar")
    periods: list[HolidayPeriod] = []
    for calendar in calendars:
        for event in calendar.walk("VEVENT"):
            period = _event_period(event, region)
            if period is not None:
                periods.append(period)
    periods.sort(key=lambda p: (p.starts_on, p.ends_on, p.name))
    return periods


def _event_period(event: icalendar.Component, region: str) -> HolidayPeriod | None:
    # Empty when the event has none; the message catalogue has a text for that.
    uid = str(event.get("UID", ""))
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if "RRULE" in event or "RDATE" in event:
        # Holiday periods are one-off; expanding recurrences would guess at what was meant.
        raise HolidayFileError(None, "holiday_file.event_repeats", uid=uid)
    name = " ".join(str(event.get("SUMMARY", "")).split())
    if not name:
        raise HolidayFileError(None, "holiday_file.event_no_summary", uid=uid)
    if len(name) > MAX_NAME_LENGTH:
        raise HolidayFileError(
            None, "holiday_file.event_name_too_long", uid=uid, max=MAX_NAME_LENGTH
        )
    start = _moment(event, "DTSTART", uid)
    end = _moment(event, "DTEND", uid) if "DTEND" in event else None
    if start is None:
        raise HolidayFileError(None, "holiday_file.event_no_start", uid=uid)
    if end is None and "DURATION" in event:
        duration = event.decoded("DURATION")
        if not isinstance(duration, timedelta):
            raise HolidayFileError(None, "holiday_file.event_bad_duration", uid=uid)
        end = start + duration
    if isinstance(start, datetime):
        first = _local(start)
        if end is None:
            return HolidayPeriod(region, name, first.date(), first.date())
        if not isinstance(end, datetime):
            raise HolidayFileError(None, "holiday_file.event_time_until_date", uid=uid)
        last = _local(end)
        last_day = last.date()
        if last.time() == datetime.min.time() and last_day > first.date():
            last_day -= timedelta(days=1)
        starts_on, ends_on = first.date(), max(last_day, first.date())
    else:
        if isinstance(end, datetime):
            raise HolidayFileError(None, "holiday_file.event_date_until_time", uid=uid)
        starts_on = start
        # An all-day DTEND is the first day after the event (RFC 5545); without one, one day.
        ends_on = start if end is None else max(end - timedelta(days=1), start)
    return HolidayPeriod(region, name, starts_on, ends_on)


def _moment(event: icalendar.Component, name: str, uid: str) -> date | None:
    if name not in event:
        return None
    # icalendar keeps a value it cannot read as a string instead of failing the whole file.
    value = event.decoded(name)
    if not isinstance(value, date):
        raise HolidayFileError(
            None, "holiday_file.event_bad_moment", uid=uid, property=name, value=str(value)
        )
    return value


def _local(moment: datetime) -> datetime:
    # A floating time (no zone) already is local time.
    return moment if moment.tzinfo is None else moment.astimezone(_AMSTERDAM)
