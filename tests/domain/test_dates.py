from datetime import date, time

import pytest

from bot.domain.dates import DateParseError, format_date, format_time, parse_date, parse_time

TODAY = date(2026, 11, 21)  # a Saturday in November
MARCH_12 = date(2027, 3, 12)  # a Friday


@pytest.mark.parametrize(
    "text",
    [
        "12-03-2027",
        "12-3-2027",
        "12/3/2027",
        "12.3.2027",
        "12-03-27",
        "2027-03-12",
        "12 maart",
        "12 maart 2027",
        "12 Maart 2027",
        "12 mrt",
        "12 mrt.",
        "vrijdag 12 maart",
        "Vrijdag, 12 maart 2027",
        "vr 12-3",
        "12 March",
        "12 march 2027",
        "March 12",
        "March 12, 2027",
        "Friday March 12",
        "12th March",
        "12e maart",
        "12 Mar",
        "12/3",
        "12-3",
        "  12   MAART  ",
        "12 - 3 - 2027",
    ],
)
def test_accepted_forms(text):
    assert parse_date(text, TODAY) == MARCH_12


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("1 januari", 1),
        ("1 jan", 1),
        ("1 februari", 2),
        ("1 feb", 2),
        ("1 april", 4),
        ("1 mei", 5),
        ("1 May", 5),
        ("1 juni", 6),
        ("1 juli", 7),
        ("1 augustus", 8),
        ("1 sept", 9),
        ("1 oktober", 10),
        ("1 okt", 10),
        ("1 October", 10),
        ("1 oct", 10),
        ("1 december", 12),
    ],
)
def test_month_names(text, month):
    assert parse_date(text, date(2027, 1, 1)).month == month


def test_without_year_is_the_next_occurrence():
    assert parse_date("12 maart", TODAY) == MARCH_12  # in November: next March
    assert parse_date("21 november", TODAY) == TODAY  # today itself counts
    assert parse_date("20 november", TODAY) == date(2027, 11, 20)
    assert parse_date("25-11", TODAY) == date(2026, 11, 25)


def test_year_inference_around_new_year():
    new_years_eve = date(2026, 12, 31)
    assert parse_date("2 januari", new_years_eve) == date(2027, 1, 2)
    assert parse_date("31-12", new_years_eve) == date(2026, 12, 31)
    assert parse_date("30 december", new_years_eve) == date(2027, 12, 30)
    assert parse_date("31/12", date(2027, 1, 1)) == date(2027, 12, 31)


def test_leap_day_without_year_waits_for_a_leap_year():
    assert parse_date("29 februari", TODAY) == date(2028, 2, 29)
    assert parse_date("29-2", date(2028, 2, 1)) == date(2028, 2, 29)


def test_relative_words():
    assert parse_date("vandaag", TODAY) == TODAY
    assert parse_date("Morgen", TODAY) == date(2026, 11, 22)
    assert parse_date("overmorgen", TODAY) == date(2026, 11, 23)
    assert parse_date("tomorrow", TODAY) == date(2026, 11, 22)


@pytest.mark.parametrize(
    "text",
    [
        "31-02",
        "31-02-2027",
        "30 februari",
        "29-02-2027",
        "31 april",
        "32-1",
        "12-13",
        "0-3",
        "1-0-2027",
    ],
)
def test_nonexistent_dates(text):
    with pytest.raises(DateParseError) as info:
        parse_date(text, TODAY)
    assert info.value.reason == "nonexistent"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hallo",
        "12",
        "maart",
        "12 foo",
        "12-3/2027",
        "12-3-202",
        "12 maart 2027 9:00",
        "2027/03/12x",
        "de 12e",
    ],
)
def test_garbage(text):
    with pytest.raises(DateParseError) as info:
        parse_date(text, TODAY)
    assert info.value.reason == "unrecognised"
    assert isinstance(info.value, ValueError)


def test_weekday_that_does_not_match():
    with pytest.raises(DateParseError) as info:
        parse_date("maandag 12 maart", TODAY)
    assert info.value.reason == "weekday_mismatch"
    assert info.value.parsed == MARCH_12


def test_weekday_that_matches_in_another_year():
    assert parse_date("maandag 12 maart 2029", TODAY) == date(2029, 3, 12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8:45", time(8, 45)),
        ("08:45", time(8, 45)),
        ("8.45", time(8, 45)),
        ("9u", time(9, 0)),
        ("9 uur", time(9, 0)),
        ("9:30 uur", time(9, 30)),
        ("13:00", time(13, 0)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        (" 8 : 45 ", time(8, 45)),
        ("1 pm", time(13, 0)),
        ("9 am", time(9, 0)),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text", ["845", "9", "", "kwart voor negen", "8:5", "8:45:00", "9 o'clock"]
)
def test_parse_time_unrecognised(text):
    with pytest.raises(DateParseError) as info:
        parse_time(text)
    assert info.value.reason == "unrecognised"


@pytest.mark.parametrize("text", ["24:00", "25u", "9:60", "13 pm"])
def test_parse_time_out_of_range(text):
    with pytest.raises(DateParseError) as info:
        parse_time(text)
    assert info.value.reason == "nonexistent"


def test_format_date():
    wednesday = date(2027, 3, 10)
    assert format_date(wednesday, "nl") == "woensdag 10 maart"
    assert format_date(wednesday, "en") == "Wednesday 10 March"
    assert format_date(wednesday, "nl", weekday=False, year=True) == "10 maart 2027"
    assert format_date(wednesday, "en", year=True) == "Wednesday 10 March 2027"
    assert format_date(date(2027, 1, 1), "en-GB", weekday=False) == "1 January"
    assert format_date(date(2027, 1, 1), "fr") == "vrijdag 1 januari"


def test_format_round_trips():
    for lang in ("nl", "en"):
        for day in (date(2027, 1, 4), date(2027, 5, 19), date(2027, 12, 31)):
            text = format_date(day, lang, year=True)
            assert parse_date(text, TODAY) == day


def test_format_time():
    assert format_time(time(8, 45)) == "08:45"
    assert format_time(time(13, 0)) == "13:00"
    assert parse_time(format_time(time(7, 5))) == time(7, 5)
