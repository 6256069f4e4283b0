"""Reading, storing and showing Dutch phone numbers."""

from __future__ import annotations

import pytest

from bot.domain.exchange_input import InputError
from bot.domain.phones import format_phone, read_phone


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12345678", "+31612345678"),
        ("06-1234 5678", "+31612345678"),
        ("0612345678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("+31 (0)6 12 34 56 78", "+31612345678"),
        ("0031 6 12345678", "+31612345678"),
        ("020 123 4567", "+31201234567"),
        ("(020) 123.45.67", "+31201234567"),
        ("0575-123456", "+31575123456"),
        ("088 1234567", "+31881234567"),
        ("  06 12345678\n", "+31612345678"),
    ],
)
def test_dutch_numbers_are_stored_in_one_form(typed: str, stored: str) -> None:
    assert read_phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "bel me maar",
        "06 1234567",  # a digit short
        "06 123456789",  # a digit too many
        "0800 1234567",  # a service number
        "0900 1234567",
        "0970 12345678",  # machines, not people
        "066 1234567",  # pagers
        "12345678",
        "+31 6 1234567x",
        "06 １２３４５６７８",  # full-width digits look like digits but are not
        "+3161234567８",
    ],
)
def test_what_is_no_dutch_number_is_refused(typed: str) -> None:
    with pytest.raises(InputError) as refused:
        read_phone(typed)
    assert refused.value.key == "schools.phone_invalid"


@pytest.mark.parametrize("typed", ["+32 470 12 34 56", "0049 30 1234567", "+1 555 123 4567"])
def test_foreign_numbers_are_refused_with_their_own_reason(typed: str) -> None:
    with pytest.raises(InputError) as refused:
        read_phone(typed)
    assert refused.value.key == "schools.phone_foreign"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+31612345678", "06 12345678"),
        ("+31201234567", "020 123 4567"),
        ("+31101234567", "010 123 4567"),
        ("+31575123456", "0575 123456"),
        ("+31881234567", "088 123 4567"),
        ("something else", "something else"),
    ],
)
def test_numbers_are_shown_as_dutch_readers_write_them(stored: str, shown: str) -> None:
    assert format_phone(stored) == shown


def test_what_is_shown_reads_back_as_the_same_number() -> None:
    for stored in ("+31612345678", "+31201234567", "+31575123456"):
        assert read_phone(format_phone(stored)) == stored
