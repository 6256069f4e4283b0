from datetime import date, timedelta

import pytest

from bot.domain.holidays import (
    REGIONS,
    HolidayFileError,
    HolidayPeriod,
    in_periods,
    is_public_holiday,
    parse_holiday_csv,
    parse_holiday_ics,
    public_holiday_name,
)

# -- CSV --------------------------------------------------------------------------------------


def test_csv_with_commas_and_iso_dates():
    text = (
        "region,name,start,end\n"
        "noord,Voorjaarsvakantie,2027-02-20,2027-02-28\n"
        "zuid,Voorjaarsvakantie,2027-02-13,2027-02-21\n"
    )
    assert parse_holiday_csv(text) == [
        HolidayPeriod("noord", "Voorjaarsvakantie", date(2027, 2, 20), date(2027, 2, 28)),
        HolidayPeriod("zuid", "Voorjaarsvakantie", date(2027, 2, 13), date(2027, 2, 21)),
    ]


def test_csv_with_semicolons_dutch_dates_and_all_regions():
    # as Dutch Excel saves it: BOM, semicolons, CRLF, padding cells, a Dutch header
    text = (
        "\ufeffRegio;Naam;Begin;Eind;\r\n"
        "alle;Meivakantie;24-04-2027;02-05-2027;\r\n"
        "\r\n"
        "# the summer is not known yet\r\n"
        'Midden;"Herfstvakantie; advies";16/10/2027;24/10/2027;\r\n'
    )
    periods = parse_holiday_csv(text)
    assert [p.region for p in periods[:3]] == list(REGIONS)
    assert {(p.name, p.starts_on, p.ends_on) for p in periods[:3]} == {
        ("Meivakantie", date(2027, 4, 24), date(2027, 5, 2))
    }
    assert periods[3] == HolidayPeriod(
        "midden", "Herfstvakantie; advies", date(2027, 10, 16), date(2027, 10, 24)
    )


def test_csv_all_in_english_and_columns_in_another_order():
    text = "start,end,region,name\n2027-12-25,2028-01-09,all,Christmas\n"
    assert len(parse_holiday_csv(text)) == 3


HEADER = "region,name,start,end"


@pytest.mark.parametrize(
    ("text", "line", "key", "params"),
    [
        ("", None, "holiday_file.empty", {"columns": HEADER}),
        (
            "region,name,start\nnoord,x,2027-01-01\n",
            1,
            "holiday_file.missing_columns",
            {"missing": "end", "columns": HEADER},
        ),
        (
            "region,name,start,end,remark\n",
            1,
            "holiday_file.unknown_column",
            {"column": "remark", "columns": HEADER},
        ),
        ("regio,naam,start,end,naam\n", 1, "holiday_file.duplicate_column", {"column": "name"}),
        (
            "region,name,start,end\nnoord,x,2027-01-01,2027-01-02\nOost,x,2027-01-01,2027-01-02\n",
            3,
            "holiday_file.unknown_region",
            {"region": "Oost", "regions": "noord, midden, zuid"},
        ),
        (
            "region,name,start,end\n\nnoord,x,31-02-2027,2027-03-01\n",
            3,
            "holiday_file.no_such_date",
            {"column": "start", "value": "31-02-2027"},
        ),
        (
            "region,name,start,end\nnoord,x,1 maart,2027-03-01\n",
            2,
            "holiday_file.not_a_date",
            {"column": "start", "value": "1 maart"},
        ),
        (
            "region,name,start,end\nnoord,x,2027-03-05,2027-03-01\n",
            2,
            "holiday_file.end_before_start",
            {"start": "2027-03-05", "end": "2027-03-01"},
        ),
        ("region,name,start,end\nnoord,,2027-03-01,2027-03-05\n", 2, "holiday_file.name_empty", {}),
        (
            f"region,name,start,end\nnoord,{'x' * 101},2027-03-01,2027-03-05\n",
            2,
            "holiday_file.name_too_long",
            {"max": 100},
        ),
        (
            "region;name;start;end\nnoord;x;2027-03-01\n",
            2,
            "holiday_file.column_count",
            {"expected": 4, "separator": ";", "found": 3},
        ),
    ],
)
def test_csv_errors_name_the_line(text, line, key, params):
    with pytest.raises(HolidayFileError) as info:
        parse_holiday_csv(text)
    assert (info.value.line, info.value.key, info.value.params) == (line, key, params)
    # str() stays readable for logs: the line, the key and the parameters
    assert key in str(info.value)
    if line is not None:
        assert str(info.value).startswith(f"line {line}: ")


# -- iCalendar --------------------------------------------------------------------------------


def ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//NL\r\n" + body + "END:VCALENDAR\r\n"
    ).encode()


def lines(*parts: str) -> str:
    return "\r\n".join(parts)


def test_ics_all_day_events_have_an_exclusive_end():
    data = ics(
        lines(
            "UID:2",
            "SUMMARY:Meivakantie",
            "DTSTART;VALUE=DATE:20270424",
            "DTEND;VALUE=DATE:20270503",
        ),
        lines(
            "UID:1",
            "SUMMARY:Voorjaarsvakantie",
            "DTSTART;VALUE=DATE:20270220",
            "DTEND;VALUE=DATE:20270301",
        ),
        lines("UID:3", "SUMMARY:Studiedag", "DTSTART;VALUE=DATE:20270610"),
    )
    assert parse_holiday_ics(data, "noord") == [
        HolidayPeriod("noord", "Voorjaarsvakantie", date(2027, 2, 20), date(2027, 2, 28)),
        HolidayPeriod("noord", "Meivakantie", date(2027, 4, 24), date(2027, 5, 2)),
        HolidayPeriod("noord", "Studiedag", date(2027, 6, 10), date(2027, 6, 10)),
    ]


def test_ics_timed_events_use_local_dates():
    data = ics(
        # 23:30 UTC on 15 October is already Saturday 16 October in Amsterdam
        lines(
            "UID:1", "SUMMARY:Herfstvakantie", "DTSTART:20271015T223000Z", "DTEND:20271024T215959Z"
        ),
        # ends at midnight: the 10th is not part of it
        lines(
            "UID:2",
            "SUMMARY:Kerst",
            "DTSTART;TZID=Europe/Amsterdam:20271225T000000",
            "DTEND;TZID=Europe/Amsterdam:20280110T000000",
        ),
        lines("UID:3", "SUMMARY:Cancelled", "STATUS:CANCELLED", "DTSTART;VALUE=DATE:20270101"),
    )
    assert parse_holiday_ics(data, "zuid") == [
        HolidayPeriod("zuid", "Herfstvakantie", date(2027, 10, 16), date(2027, 10, 24)),
        HolidayPeriod("zuid", "Kerst", date(2027, 12, 25), date(2028, 1, 9)),
    ]


def test_ics_needs_a_known_region():
    with pytest.raises(ValueError, match="region"):
        parse_holiday_ics(ics(), "oost")


@pytest.mark.parametrize(
    ("data", "key", "params"),
    [
        (ics(lines("UID:1", "DTSTART;VALUE=DATE:20270101")), "holiday_file.event_no_summary", {}),
        (
            ics(lines("SUMMARY:x", "DTSTART;VALUE=DATE:20270101", "RRULE:FREQ=YEARLY")),
            "holiday_file.event_repeats",
            {"uid": ""},
        ),
        (ics(lines("UID:1", "SUMMARY:x")), "holiday_file.event_no_start", {}),
        (
            ics(lines("UID:1", "SUMMARY:x", "DTSTART:nonsense")),
            "holiday_file.event_bad_moment",
            {"property": "DTSTART", "value": "nonsense"},
        ),
        (
            ics(lines("UID:1", "SUMMARY:x", "DTSTART;VALUE=DATE:20270101", "RRULE:FREQ=YEARLY")),
            "holiday_file.event_repeats",
            {},
        ),
        (
            ics(lines("UID:1", f"SUMMARY:{'x' * 101}", "DTSTART;VALUE=DATE:20270101")),
            "holiday_file.event_name_too_long",
            {"max": 100},
        ),
        (
            ics(
                lines("UID:1", "SUMMARY:x", "DTSTART:20270101T090000", "DTEND;VALUE=DATE:20270102")
            ),
            "holiday_file.event_time_until_date",
            {},
        ),
        (
            ics(
                lines("UID:1", "SUMMARY:x", "DTSTART;VALUE=DATE:20270101", "DTEND:20270102T090000")
            ),
            "holiday_file.event_date_until_time",
            {},
        ),
    ],
)
def test_ics_errors(data, key, params):
    with pytest.raises(HolidayFileError) as info:
        parse_holiday_ics(data, "midden")
    # Every event error names the event by its UID ("" when it has none).
    assert (info.value.line, info.value.key, info.value.params) == (
        None,
        key,
        {"uid": "1"} | params,
    )


@pytest.mark.parametrize(
    ("data", "key"),
    [(b"not a calendar", "holiday_file.not_icalendar"), (b"", "holiday_file.no_calendar")],
)
def test_ics_files_that_are_not_calendars(data, key):
    with pytest.raises(HolidayFileError) as info:
        parse_holiday_ics(data, "midden")
    assert (info.value.line, info.value.key) == (None, key)


# -- public holidays --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2027, 3, 29), True),  # Easter Monday
        (date(2027, 4, 27), True),  # King's Day
        (date(2027, 5, 6), True),  # Ascension Day
        (date(2027, 12, 25), True),
        (date(2027, 5, 5), False),  # Liberation Day only every fifth year (as the package has it)
        (date(2030, 5, 5), True),
        (date(2027, 3, 30), False),
    ],
)
def test_public_holidays(day, holiday):
    assert is_public_holiday(day) is holiday


def test_public_holiday_names():
    assert public_holiday_name(date(2027, 4, 27), "nl") == "Koningsdag"
    assert public_holiday_name(date(2027, 4, 27), "en-GB") == "King's Day"
    assert public_holiday_name(date(2027, 3, 29), "nl") == "Tweede paasdag"
    assert public_holiday_name(date(2027, 3, 30), "nl") is None


def test_in_periods():
    periods = [(date(2027, 2, 20), date(2027, 2, 28))]
    assert in_periods(date(2027, 2, 20), periods)
    assert in_periods(date(2027, 2, 28), periods)
    assert not in_periods(date(2027, 3, 1), periods)
    assert not in_periods(date(2027, 3, 1), [])


def test_public_holidays_are_the_holidays_packages_own() -> None:
    """The bot works its public holidays out itself; year by year, they are what the `holidays`
    package (a test dependency) says, in both languages."""
    import holidays as package

    for year in range(1990, 2081):
        for lang, code in (("nl", "nl"), ("en", "en_US")):
            expected = dict(package.country_holidays("NL", years=year, language=code).items())
            found = {
                day: public_holiday_name(day, lang)
                for day in (date(year, 1, 1) + timedelta(days=n) for n in range(366))
                if day.year == year and is_public_holiday(day)
            }
            assert found == expected, (year, lang)
