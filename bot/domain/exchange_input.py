"""Validation of what a coordinator types when creating an exchange (chat wizard and CSV)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.holidays import REGIONS
from bot.domain.names import name_key
from bot.domain.numbers import MAX_ID, clean_text, read_int

MIN_CLASS_SIZE = 1
MAX_CLASS_SIZE = 40
MAX_START_AHEAD = timedelta(days=550)
CLASS_CHOICES = {"7": "groep 7", "8": "groep 8", "78": "groep 7/8"}


class InputError(ValueError):
    """A value that cannot be used; `key` names the catalogue text that explains why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def clean_name(text: str, *, min_len: int = 2, max_len: int = 100) -> str:
    """A name as typed (in the chat or a CSV file), trimmed and with inner whitespace folded."""
    value = " ".join(clean_text(text).split())
    if len(value) < min_len:
        raise InputError("input.name_too_short", min=min_len)
    if len(value) > max_len:
        raise InputError("input.name_too_long", max=max_len)
    return value


def clean_city(text: str) -> str:
    return clean_name(text, min_len=2, max_len=60)


def clean_school(text: str) -> str:
    return clean_name(text, min_len=2, max_len=100)


def clean_address(text: str) -> str:
    return clean_name(text, min_len=5, max_len=200)


_GROUP = re.compile(r"^(?:groep\s*)?([78])(?:\s*[/-]\s*([78]))?$", re.IGNORECASE)


def clean_class_name(text: str) -> str:
    """A class name; '8', 'Groep 8' and 'groep 7/8' are written as users know them."""
    value = " ".join(text.split())
    match = _GROUP.match(value)
    if match:
        first, second = match.groups()
        if second and second != first:
            return f"groep {min(first, second)}/{max(first, second)}"
        return f"groep {first}"
    return clean_name(value, min_len=2, max_len=30)


def clean_class_size(text: str | int) -> int:
    size = read_int(str(text), lo=0, hi=MAX_ID)
    if size is None:
        raise InputError("input.size_not_number", min=MIN_CLASS_SIZE, max=MAX_CLASS_SIZE)
    if not MIN_CLASS_SIZE <= size <= MAX_CLASS_SIZE:
        raise InputError("input.size_out_of_range", min=MIN_CLASS_SIZE, max=MAX_CLASS_SIZE)
    return size


def check_start_date(start: date, today: date) -> date:
    """The first day of the programme: a school day, not in the past, not absurdly far."""
    if start < today:
        raise InputError("input.date_in_past")
    if start.weekday() >= 5:
        raise InputError("input.date_weekend")
    if start - today > MAX_START_AHEAD:
        raise InputError("input.date_too_far")
    return start


def same_school(name_a: str, name_b: str) -> bool:
    return name_key(name_a) == name_key(name_b)


@dataclass
class SideInput:
    """One side of a new exchange as typed."""

    school: str
    address: str | None
    class_name: str
    class_size: int


@dataclass
class ExchangeInput:
    programme_key: str
    city: str
    start_date: date
    sides: list[SideInput] = field(default_factory=list)
    region: str | None = None


def clean_region(text: str) -> str:
    value = text.strip().lower()
    if value not in REGIONS:
        raise InputError("input.region_unknown", regions=", ".join(REGIONS))
    return value
