from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.domain.calendar import CalendarEvent, event_uid, exchange_calendar

AMS = ZoneInfo("Europe/Amsterdam")
STAMP = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
ORIENTATION = CalendarEvent(
    uid=event_uid(12, "orientation"),
    summary="Oriëntatie",
    description="Week 1: het projectboekje, gemengde teams; een foto voor de partnerklas",
    location=None,
    starts_on=date(2027, 3, 1),
    ends_on=date(2027, 3, 5),
    start_time=None,
    duration=None,
)
DAY_1 = CalendarEvent(
    uid=event_uid(12, "exchange_day_1"),
    summary="Uitwisselingsdag 1",
    description="Speurtocht door de wijk",
    location="De Regenboog, Kerkstraat 1, Utrecht",
    starts_on=date(2027, 3, 10),
    ends_on=date(2027, 3, 10),
    start_time=time(8, 45),
    duration=timedelta(hours=4, minutes=30),
    sequence=2,
)
# after the clock change of 28 March
CLOSING = CalendarEvent(
    uid=event_uid(12, "closing"),
    summary="Afsluiting",
    description="Feest",
    location=None,
    starts_on=date(2027, 3, 31),
    ends_on=date(2027, 3, 31),
    start_time=time(13, 0),
    duration=timedelta(hours=2),
)


def export(events=(ORIENTATION, DAY_1, CLOSING), name="Uitwisseling Regenboog – Anker"):
    return exchange_calendar(events, name=name, tz=AMS, stamp=STAMP)


def parsed(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def events_by_uid(calendar):
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_event_uid():
    assert event_uid(12, "exchange_day_1") == "wijkbot-exchange-12-exchange_day_1@wijkbot"


def test_calendar_header():
    data = export()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    calendar = parsed(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert "wijkbot" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "Uitwisseling Regenboog – Anker"


def test_one_event_per_phase_with_its_stable_uid():
    events = events_by_uid(parsed(export()))
    assert set(events) == {
        "wijkbot-exchange-12-orientation@wijkbot",
        "wijkbot-exchange-12-exchange_day_1@wijkbot",
        "wijkbot-exchange-12-closing@wijkbot",
    }
    for event in events.values():
        assert event.decoded("DTSTAMP") == STAMP
    day = events[DAY_1.uid]
    assert str(day["SUMMARY"]) == "Uitwisselingsdag 1"
    assert str(day["LOCATION"]) == DAY_1.location
    assert str(day["DESCRIPTION"]) == DAY_1.description
    assert int(day["SEQUENCE"]) == 2
    assert int(events[ORIENTATION.uid]["SEQUENCE"]) == 0
    assert "LOCATION" not in events[ORIENTATION.uid]


def test_all_day_events_have_dates_and_an_exclusive_end():
    data = export()
    assert b"DTSTART;VALUE=DATE:20270301" in data
    assert b"DTEND;VALUE=DATE:20270306" in data
    week = events_by_uid(parsed(data))[ORIENTATION.uid]
    assert week.decoded("DTSTART") == date(2027, 3, 1)
    assert week.decoded("DTEND") == date(2027, 3, 6)  # Saturday: the week ends on Friday
    assert not isinstance(week.decoded("DTSTART"), datetime)


def test_timed_events_carry_the_amsterdam_time_zone():
    data = export()
    assert b"DTSTART;TZID=Europe/Amsterdam:20270310T084500" in data
    assert b"DTEND;TZID=Europe/Amsterdam:20270310T131500" in data
    events = events_by_uid(parsed(data))
    day = events[DAY_1.uid]
    assert day["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert day.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 10, 7, 45, tzinfo=UTC)
    closing = events[CLOSING.uid]
    assert closing.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 31, 11, tzinfo=UTC)
    assert closing.decoded("DTEND") - closing.decoded("DTSTART") == timedelta(hours=2)


def test_the_time_zone_is_in_the_file():
    calendar = parsed(export())
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Amsterdam"
    assert calendar.get_missing_tzids() == set()
    # the summer time rule of the exchange's year is in it
    assert b"DTSTART:20270328T030000" in export()


def test_no_time_zone_without_timed_events():
    calendar = parsed(export(events=(ORIENTATION,)))
    assert calendar.walk("VTIMEZONE") == []


def test_the_same_input_gives_the_same_bytes():
    assert export() == export()


def test_a_start_without_duration():
    event = CalendarEvent(
        "x@wijkbot", "Dag", "", None, date(2027, 3, 10), date(2027, 3, 10), time(9), None
    )
    (vevent,) = parsed(export(events=(event,))).walk("VEVENT")
    assert vevent.decoded("DTSTART") == datetime(2027, 3, 10, 9, tzinfo=AMS)
    assert "DTEND" not in vevent


@pytest.mark.parametrize(
    ("events", "fragment"),
    [
        ((DAY_1, DAY_1), "UID"),
        (
            (CalendarEvent("x", "s", "", None, date(2027, 3, 2), date(2027, 3, 1), None, None),),
            "ends before",
        ),
        (
            (CalendarEvent("x", "s", "", None, date(2027, 3, 1), date(2027, 3, 2), time(9), None),),
            "one day",
        ),
        (
            (
                CalendarEvent(
                    "x", "s", "", None, date(2027, 3, 1), date(2027, 3, 1), None, timedelta(hours=1)
                ),
            ),
            "start time",
        ),
    ],
)
def test_bad_events(events, fragment):
    with pytest.raises(ValueError, match=fragment):
        export(events=events)


def test_the_stamp_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        exchange_calendar([ORIENTATION], name="x", tz=AMS, stamp=datetime(2027, 1, 1))
