"""Headcounts on the exchange day: the moments counted at and what a typed count may be (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.exchange_input import InputError
from bot.domain.numbers import MAX_ID, read_int

# Moments of the day a headcount is taken at, in the order they happen; "free" is any other.
MOMENTS = ("arrival", "departure", "back", "end", "free")
# Over the class size by more than this is a typing error, not visitors.
COUNT_MARGIN = 5


def check_count(text: str | int, class_size: int) -> int:
    """A headcount as typed: a whole number from 0 to the class size plus a small margin."""
    raw = str(text).strip()
    if raw.startswith("-") and read_int(raw[1:], lo=0, hi=MAX_ID) is not None:
        raise InputError("headcounts.negative")
    value = read_int(raw, lo=0, hi=MAX_ID)
    if value is None:
        raise InputError("headcounts.not_a_number", maximum=class_size + COUNT_MARGIN)
    if value > class_size + COUNT_MARGIN:
        raise InputError("headcounts.too_many", size=class_size, maximum=class_size + COUNT_MARGIN)
    return value


def next_moment(recorded: Sequence[str]) -> str:
    """The moment a count without one is for (`/aanwezig 24 22`), given today's counted
    moments in the order they were taken.

    It is the moment after the latest one counted, in the order of the day: after "aankomst"
    and "terug van de speurtocht" comes "einde van de dag", not the skipped "vertrek", so a
    drop is reported against the count that really came before. After the end of the day,
    or when the day's counts are out of its order or name an unknown moment, it is
    "tussendoor"; counts taken "tussendoor" do not move the day on.
    """
    day = MOMENTS[:-1]
    counted = [moment for moment in recorded if moment != "free"]
    if not counted:
        return day[0]
    if any(moment not in day for moment in counted):
        return "free"
    positions = [day.index(moment) for moment in counted]
    latest = positions[-1]
    if latest < max(positions) or latest == len(day) - 1:
        return "free"
    return day[latest + 1]
