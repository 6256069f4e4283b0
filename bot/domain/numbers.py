"""The one way the bot reads a number or an id, and cleans typed text.

Every command argument, typed answer and button payload goes through these
functions. ``str.isdigit()`` is not enough: it accepts superscripts ("²") and
other Unicode digits that ``int()`` then refuses, and it has no idea of the
range a database column can hold (PostgreSQL's INTEGER is 32-bit signed).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time

# Largest value a 32-bit signed INTEGER column holds (PostgreSQL, and the ids we
# hand out); a larger "id" cannot exist, so it is refused before any query.
MAX_ID = 2**31 - 1

# Plain ASCII digits only; at most 18 so that int() never sees a huge string.
_DIGITS = re.compile(r"[0-9]{1,18}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Characters kept although they are control characters: line breaks and tabs
# are part of normal typed text.
_KEPT_CONTROLS = frozenset("\n\t")


def read_int(text: str | None, *, lo: int, hi: int) -> int | None:
    """The whole number in ``text`` when it is ASCII digits within [lo, hi].

    Surrounding whitespace is allowed; signs, Unicode digits, separators and
    anything else give ``None``. A negative ``lo`` still does not accept a
    sign: callers that need negative input handle the sign themselves.
    """
    if text is None:
        return None
    raw = text.strip()
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if lo <= value <= hi else None


def read_id(text: str | None) -> int | None:
    """A database id: a positive whole number that fits a 32-bit signed column."""
    return read_int(text, lo=1, hi=MAX_ID)


def read_day(text: str | None) -> date | None:
    """A day in a button's data, 'YYYY-MM-DD' in ASCII digits, or None."""
    if text is None or not _ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_clock(text: str | None) -> time | None:
    """A time of day in a button's data, 'HHMM' in ASCII digits, or None."""
    if text is None or len(text) != 4:
        return None
    hour = read_int(text[:2], lo=0, hi=23)
    minute = read_int(text[2:], lo=0, hi=59)
    if hour is None or minute is None:
        return None
    return time(hour, minute)


def clean_text(text: str) -> str:
    """``text`` without NUL and other control characters (newline and tab stay).

    PostgreSQL refuses NUL in text columns, and invisible control characters
    (category Cc) only confuse whoever reads the text later. Format characters
    such as the zero-width joiner stay: they are part of emoji and names.
    """
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch) != "Cc")
