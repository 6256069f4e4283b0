"""Importing a season of exchanges from a CSV file (`python -m bot import FILE`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.dates import DateParseError, parse_date
from bot.domain.exchange_input import (
    ExchangeInput,
    InputError,
    SideInput,
    check_start_date,
    clean_address,
    clean_city,
    clean_class_name,
    clean_class_size,
    clean_region,
    clean_school,
    same_school,
)
from bot.domain.names import name_key
from bot.domain.programme import Programme
from bot.domain.timeline import programme_start
from bot.services import audit
from bot.services.exchanges import create_exchange

REQUIRED = (
    "programme",
    "city",
    "start_date",
    "school_a",
    "class_a",
    "size_a",
    "school_b",
    "class_b",
    "size_b",
)
OPTIONAL = ("address_a", "address_b", "region")
COLUMNS = REQUIRED + OPTIONAL
T = TypeVar("T")


@dataclass(frozen=True)
class LineProblem:
    line: int
    column: str
    key: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass
class ParsedFile:
    rows: list[tuple[int, ExchangeInput]] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    header_problem: LineProblem | None = None


def _sniff(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text.splitlines()[0] if text else "", delimiters=",;\t")
    except csv.Error:
        return csv.excel


def parse_csv(text: str, programmes: Mapping[str, Programme], today: date) -> ParsedFile:
    """Validate every line; a line with problems is reported, never half-used."""
    result = ParsedFile()
    text = text.lstrip("\ufeff")  # Excel writes a byte-order mark
    reader = csv.DictReader(io.StringIO(text), dialect=_sniff(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h and h not in COLUMNS]
    if missing or unknown:
        result.header_problem = LineProblem(
            1,
            ",".join(missing or unknown),
            "import.missing_columns" if missing else "import.unknown_columns",
            {"columns": ", ".join(missing or unknown)},
        )
        return result
    reader.fieldnames = header
    seen: dict[tuple[str, str, str, date], int] = {}
    for number, raw in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(values.values()):
            continue
        problems_before = len(result.problems)
        parsed = _parse_row(number, values, programmes, today, result.problems)
        if parsed is None or len(result.problems) > problems_before:
            continue
        key = (
            name_key(parsed.city),
            name_key(parsed.sides[0].school),
            name_key(parsed.sides[1].school),
            parsed.start_date,
        )
        if key in seen:
            result.problems.append(
                LineProblem(number, "school_a", "import.duplicate", {"other": seen[key]})
            )
            continue
        seen[key] = number
        result.rows.append((number, parsed))
    return result


def _parse_row(
    number: int,
    values: Mapping[str, str],
    programmes: Mapping[str, Programme],
    today: date,
    problems: list[LineProblem],
) -> ExchangeInput | None:
    def check(column: str, clean: Callable[[str], T]) -> T | None:
        try:
            return clean(values.get(column, ""))
        except InputError as error:
            problems.append(LineProblem(number, column, error.key, error.params))
            return None

    def start_date(text: str) -> date:
        try:
            return check_start_date(parse_date(text, today), today)
        except DateParseError as error:
            raise InputError(f"input.date_{error.reason}") from error

    programme = values.get("programme", "").lower()
    if programme not in programmes:
        known = ", ".join(sorted(programmes))
        problems.append(
            LineProblem(number, "programme", "import.unknown_programme", {"known": known})
        )
    city = check("city", clean_city)
    region = check("region", clean_region) if values.get("region") else None
    start = check("start_date", start_date)
    sides: list[SideInput] = []
    for letter in ("a", "b"):
        school = check(f"school_{letter}", clean_school)
        address = (
            check(f"address_{letter}", clean_address) if values.get(f"address_{letter}") else None
        )
        class_name = check(f"class_{letter}", clean_class_name)
        size = check(f"size_{letter}", clean_class_size)
        if school is not None and class_name is not None and size is not None:
            sides.append(SideInput(school, address, class_name, size))
    if len(sides) == 2 and same_school(sides[0].school, sides[1].school):
        problems.append(LineProblem(number, "school_b", "new_exchange.same_school"))
        return None
    if programme not in programmes or city is None or start is None or len(sides) != 2:
        return None
    return ExchangeInput(programme, city, programme_start(start), sides, region)


async def import_rows(
    session: AsyncSession,
    rows: list[tuple[int, ExchangeInput]],
    programmes: Mapping[str, Programme],
    *,
    now: datetime,
) -> list[int]:
    """Create the exchanges; returns their ids in file order."""
    created = []
    for _, data in rows:
        exchange = await create_exchange(
            session, data, programmes[data.programme_key], created_by=None, now=now
        )
        audit.record(
            session,
            exchange_id=exchange.id,
            user_id=None,
            action=audit.EXCHANGE_CREATED,
            now=now,
            details={
                "programme": exchange.programme_key,
                "start": exchange.start_date.isoformat(),
                "via": "import",
            },
        )
        created.append(exchange.id)
    return created
