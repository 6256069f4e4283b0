"""The one number reader, the text cleaner and the name key (pure)."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.domain.names import name_key
from bot.domain.numbers import MAX_ID, clean_text, read_clock, read_day, read_id, read_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        (" 12 ", 12),
        ("0", 0),
        ("40", 40),
        ("41", None),  # above the bound
        ("²", None),  # a superscript passes str.isdigit() but is no number to int()
        ("1²", None),
        ("٣", None),  # Arabic-Indic three: a digit, but not what the bot reads
        ("３", None),  # full-width three
        ("-1", None),
        ("+1", None),
        ("1 2", None),
        ("1.5", None),
        ("", None),
        ("   ", None),
        ("9" * 19, None),  # never hands int() an absurdly long string
        (None, None),
    ],
)
def test_read_int_takes_ascii_digits_within_bounds(text: str | None, expected: int | None) -> None:
    assert read_int(text, lo=0, hi=40) == expected


def test_read_id_fits_a_32_bit_column() -> None:
    assert read_id("1") == 1
    assert read_id(str(MAX_ID)) == MAX_ID == 2_147_483_647
    assert read_id(str(MAX_ID + 1)) is None
    assert read_id("9999999999") is None
    assert read_id("0") is None
    assert read_id("#1") is None


def test_read_day_and_clock_from_button_data() -> None:
    assert read_day("2027-02-10") == date(2027, 2, 10)
    assert read_day("2027-02-30") is None
    assert read_day("2027-0²-10") is None
    assert read_day("10-02-2027") is None
    assert read_clock("0845") == time(8, 45)
    assert read_clock("2400") is None
    assert read_clock("²³00") is None
    assert read_clock("845") is None


def test_clean_text_removes_control_characters_but_keeps_lines_and_emoji() -> None:
    assert clean_text("Fiets\x00 omgevallen\x1b") == "Fiets omgevallen"
    assert clean_text("regel 1\nregel 2\tmet tab") == "regel 1\nregel 2\tmet tab"
    assert clean_text("\x7fGoed\r gegaan\x85") == "Goed gegaan"
    family = "👨\u200d👩\u200d👧"  # joined by zero-width joiners, which stay
    assert clean_text(f"{family}\x00") == family
    assert clean_text("École Européenne") == "École Européenne"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("École Européenne", "école européenne"),
        ("École Européenne", "ÉCOLE  EUROPÉENNE "),
        ("E\u0301cole", "École"),  # decomposed and composed accent
        ("Straße", "STRASSE"),
        ("ＤＥ ＯＤＹＳＳＥＥ", "De Odyssee"),  # full-width letters
    ],
)
def test_names_that_people_read_as_equal_have_one_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_names_that_differ_keep_different_keys() -> None:
    assert name_key("Ecole Europeenne") != name_key("École Européenne")
    assert name_key("De Odyssee") != name_key("De Odyssee 2")
