"""An exchange's phases as an iCalendar file, for teachers and begeleiders to import.

Every event keeps a stable UID, so importing the file again after a date changed updates the
event in the calendar instead of adding a second one; SEQUENCE tells the calendar which version
is newer. A date not agreed yet is TENTATIVE, an agreed one CONFIRMED. The output is
deterministic: the same events and stamp give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import icalendar

PRODID = "-//wijkbot//wijkbot uitwisseling//NL"
UID_DOMAIN = "wijkbot"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    summary: str
    description: str
    location: str | None
    starts_on: date
    ends_on: date  # inclusive
    start_time: time | None  # None: an all-day event over starts_on … ends_on
    duration: timedelta | None  # None with a start time: the event has a start only
    # Raise it whenever the event changes, so calendars take the new version over the old.
    sequence: int = 0
    # A provisional date, still to be agreed: the calendar shows it as tentative.
    tentative: bool = False


def event_uid(exchange_id: int, phase_key: str) -> str:
    """The stable UID of a phase of an exchange, e.g. "wijkbot-exchange-12-closing@wijkbot"."""
    return f"wijkbot-exchange-{exchange_id}-{phase_key}@{UID_DOMAIN}"


def event_sequence(revision: int, agreed: bool) -> int:
    """The SEQUENCE of a phase's event: higher for every new version of it.

    `revision` rises whenever the date or time changes; agreeing a provisional date without
    moving it changes only its status, and that must count as newer too (an agreed date is
    never made provisional again without a new revision).
    """
    if revision < 0:
        raise ValueError("revision must be ≥ 0")
    return 2 * revision + (1 if agreed else 0)


def exchange_calendar(
    events: Sequence[CalendarEvent], *, name: str, tz: ZoneInfo, stamp: datetime
) -> bytes:
    """An iCalendar file (RFC 5545) with one VEVENT per event, timed ones in `tz`.

    `stamp` (aware) is every event's DTSTAMP: when this file was made. All-day events end with
    the exclusive DTEND iCalendar wants; timed ones carry TZID and the file holds the matching
    VTIMEZONE, so calendars without a time zone database still place them right.
    """
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise ValueError("stamp must be an aware datetime")
    uids = [event.uid for event in events]
    if len(set(uids)) != len(uids):
        raise ValueError("two events share a UID; a calendar would merge them")

    # Loaded when a calendar is first asked for: a bot that is never asked keeps the memory.
    import icalendar

    # Built property by property rather than with Calendar.new(), which adds a random UID and
    # would make two exports of the same exchange differ.
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("name", name)
    calendar.add("x-wr-timezone", tz.key)
    for event in events:
        calendar.add_component(_vevent(event, tz, stamp.astimezone(UTC)))

    timed = [event for event in events if event.start_time is not None]
    if timed:
        # A VTIMEZONE over the years the events are in, not icalendar's default 1970-2038,
        # which would make the file many times larger.
        first = min(event.starts_on for event in timed)
        last = max(event.ends_on for event in timed)
        calendar.add_missing_timezones(
            first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 1, 1)
        )
    ical: bytes = calendar.to_ical()  # icalendar leaves to_ical() unannotated
    return ical


def _vevent(event: CalendarEvent, tz: ZoneInfo, stamp: datetime) -> icalendar.Event:
    if event.ends_on < event.starts_on:
        raise ValueError(f"{event.uid}: ends before it starts")
    if event.sequence < 0:
        raise ValueError(f"{event.uid}: sequence must be ≥ 0")
    import icalendar

    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", stamp)
    vevent.add("sequence", event.sequence)
    vevent.add("status", "TENTATIVE" if event.tentative else "CONFIRMED")
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    if event.start_time is None:
        if event.duration is not None:
            raise ValueError(f"{event.uid}: a duration needs a start time")
        vevent.add("dtstart", event.starts_on)
        # RFC 5545: an all-day DTEND is the first day after the event.
        vevent.add("dtend", event.ends_on + timedelta(days=1))
        # A week of lessons in the own class should not show the teacher as busy all week.
        vevent.add("transp", "TRANSPARENT")
        return vevent
    if event.ends_on != event.starts_on:
        raise ValueError(f"{event.uid}: a timed event is on one day (starts_on == ends_on)")
    start = datetime.combine(event.starts_on, event.start_time, tzinfo=tz)
    vevent.add("dtstart", start)
    if event.duration is not None:
        if event.duration < timedelta(0):
            raise ValueError(f"{event.uid}: negative duration")
        vevent.add("dtend", start + event.duration)
    vevent.add("transp", "OPAQUE")
    return vevent
