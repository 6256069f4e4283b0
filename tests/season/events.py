"""What happens at a moment of the season: an event the season plays in time order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

AMS = ZoneInfo("Europe/Amsterdam")


@dataclass
class Event:
    at: datetime
    what: str
    run: Callable[[], Awaitable[None]]


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=AMS)
