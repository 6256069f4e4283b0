"""Headcounts on the exchange day: the moments counted at and what a typed count may be (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

from bot.domain.exchange_input import InputError
from bot.domain.numbers import MAX_ID, read_int
from bot.domain.programme import Phase
from bot.domain.timeline import timed_schedule

# Moments of the day a headcount is taken at, in the order they happen; "free" is any other.
MOMENTS = ("arrival", "departure", "back", "end", "free")
# A day with a speurtocht: arrival, leaving for the neighbourhood, back, the end of the day.
OUTING_DAY = ("arrival", "departure", "back", "end")
# Any other day (the closing, a meeting at school): arrival and the end of the day.
SCHOOL_DAY = ("arrival", "end")
# How the schedule of a day shows its outing: an activity that names the speurtocht goes out
# into the neighbourhood; the walk that leads to it (an activity naming the neighbourhood
# right before it) is part of it.
_OUTING = "speurtocht"
_NEIGHBOURHOOD = ("wijk", "neighbourhood")
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


def _names(phase: Phase, index: int) -> str:
    item = phase.schedule[index]
    return f"{item.activity.nl} {item.activity.en}".lower()


def _outing(phase: Phase) -> tuple[int, int] | None:
    """The first and last schedule item of the day's trip into the neighbourhood, if any."""
    hunts = [i for i in range(len(phase.schedule)) if _OUTING in _names(phase, i)]
    if not hunts:
        return None
    first, last = hunts[0], hunts[-1]
    while first > 0 and any(word in _names(phase, first - 1) for word in _NEIGHBOURHOOD):
        first -= 1
    return first, last


def day_moments(phase: Phase) -> tuple[str, ...]:
    """The moments this day is counted at, in the order of the day.

    Only a day whose schedule has a speurtocht has "leaving for the neighbourhood" and "back
    from the speurtocht"; the closing (and any day at school) has its arrival and its end.
    "tussendoor" is offered besides these, always (`offered_moments`).
    """
    return OUTING_DAY if _outing(phase) is not None else SCHOOL_DAY


def moment_times(phase: Phase, start: time | None) -> dict[str, time]:
    """When each moment of the day falls by its schedule (empty without a start time)."""
    items = timed_schedule(phase, start)
    if not items:
        return {}
    times = {"arrival": items[0].starts_at, "end": items[-1].ends_at}
    outing = _outing(phase)
    if outing is not None:
        times["departure"] = items[outing[0]].starts_at
        times["back"] = items[outing[1]].ends_at
    return times


def next_moment(recorded: Sequence[str], day: Sequence[str] = OUTING_DAY) -> str:
    """The moment after the latest one counted today (given in the order they were taken),
    in the order of the day: after "aankomst" and "terug van de speurtocht" comes "einde van
    de dag", not the skipped "vertrek". After the end of the day, or when the day's counts are
    out of its order or name a moment the day does not have, it is "tussendoor"; counts taken
    "tussendoor" do not move the day on.
    """
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


def likely_moment(phase: Phase, start: time | None, recorded: Sequence[str], now: time) -> str:
    """The moment a count taken `now` is most likely for: the one whose time by the schedule
    is nearest (the later of two as near), else the one after the latest counted."""
    times = moment_times(phase, start)
    if not times:
        return next_moment(recorded, day_moments(phase))
    today = date(2000, 1, 1)

    def distance(moment: str) -> float:
        return abs(
            (datetime.combine(today, times[moment]) - datetime.combine(today, now)).total_seconds()
        )

    order = [m for m in day_moments(phase) if m in times]
    return min(reversed(order), key=distance)


def offered_moments(phase: Phase, likely: str) -> tuple[str, ...]:
    """The moment buttons for this day: the likely one first, then the day's others in their
    order, and "tussendoor" last."""
    day = [*day_moments(phase), "free"]
    return (likely, *(m for m in day if m != likely)) if likely in day else tuple(day)
