"""Dutch phone numbers as people type them: read one, store it in one form, show it."""

from __future__ import annotations

import re

from bot.domain.exchange_input import InputError
from bot.domain.numbers import clean_text

COUNTRY = "+31"
# What people put between the digits: spaces, dashes, dots, slashes, brackets.
_SEPARATORS = re.compile(r"[\s\-./()]")
# "+31 (0)6 …": the trunk zero some people write in brackets after the country code.
_TRUNK_ZERO = re.compile(r"^(\+|00)31\s*\(0\)")
# The nine digits after the 0 (or +31) of numbers one can call: mobile (06, not 066/067),
# geographic (010 … 079) and the nationwide 084, 085, 087, 088 and 091. Service numbers
# (0800, 0900) and machine numbers (097) are not numbers to reach a person on.
_CALLABLE = re.compile(r"^(6[1-58]|[1-57]|8[4578]|91)\d+$")
_DIGITS = 9
_ASCII_DIGITS = re.compile(r"[0-9]+")
# Area codes of two digits after the 0 (the rest have three): 020 123 4567, 0575 123456.
_SHORT_AREA = re.compile(r"^(1[035]|2[0346]|3[03568]|4[0356]|5[0358]|7\d|8[4578]|91)")


def read_phone(text: str) -> str:
    """A Dutch phone number as typed ("06-1234 5678", "+31 (0)20 123 4567", "0031…"),
    written as +31 and nine digits; InputError with the reason otherwise."""
    value = _TRUNK_ZERO.sub(r"\g<1>31", clean_text(text).strip())
    value = _SEPARATORS.sub("", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+"):
        if not _ASCII_DIGITS.fullmatch(value[1:]):
            raise InputError("schools.phone_invalid")
        if not value.startswith(COUNTRY):
            raise InputError("schools.phone_foreign")
        national = value[len(COUNTRY) :]
    elif value.startswith("0") and _ASCII_DIGITS.fullmatch(value):
        national = value[1:]
    else:
        raise InputError("schools.phone_invalid")
    if len(national) != _DIGITS or not _CALLABLE.match(national):
        raise InputError("schools.phone_invalid")
    return COUNTRY + national


def format_phone(stored: str) -> str:
    """How a stored number is shown to Dutch readers: 06 12345678, 020 123 4567,
    0575 123456. Anything not in the stored form is shown as it is."""
    if not stored.startswith(COUNTRY) or len(stored) != len(COUNTRY) + _DIGITS:
        return stored
    national = "0" + stored[len(COUNTRY) :]
    if national.startswith("06"):
        return f"{national[:2]} {national[2:]}"
    if _SHORT_AREA.match(national[1:]):
        return f"{national[:3]} {national[3:6]} {national[6:]}"
    return f"{national[:4]} {national[4:]}"
