"""Callback data: every prefix lives in bot/ui/callbacks.py, no two can be confused, and the
longest data of each fits Telegram's 64 bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telegram.ext import ApplicationBuilder, CallbackQueryHandler

from bot.app import register_handlers
from bot.domain.holidays import REGIONS
from bot.domain.numbers import MAX_ID
from bot.domain.programme import MAX_KEY_LENGTH
from bot.handlers import headcounts
from bot.services.invites import INVITE_KINDS
from bot.ui import callbacks
from bot.ui.callbacks import (
    ACTION_PREFIXES,
    CHOICE,
    DIALOG_PREFIXES,
    MAX_BYTES,
    MORE,
    button_data,
)
from db.models import Dialog

BOT = Path(__file__).resolve().parent.parent / "bot"
LONGEST_KEY = "k" * MAX_KEY_LENGTH


def _matched(prefix: str) -> str:
    """What a handler's pattern requires at the start of the data."""
    return f"{prefix}:" if prefix in DIALOG_PREFIXES else prefix


def _dialog_samples(prefix: str) -> list[str]:
    """The longest values any conversation puts on a button, at the highest version."""
    dialog = Dialog(version=MAX_ID)
    values = [
        f"{CHOICE}{MAX_ID}",
        f"{CHOICE}{MORE}{MAX_ID}",
        f"p:{LONGEST_KEY}",  # a programme or phase key
        "d:2099-12-31",
        "t:2359",
        f"c:{MAX_ID}",
        "c:new",
        *(f"r:{region}" for region in REGIONS),
        "g:78",
        "m:departure",
        "k:del",
        "cancel",
    ]
    return [button_data(prefix, dialog, value) for value in values]


def _samples() -> dict[str, list[str]]:
    """The longest data each prefix is written with."""
    found = {
        prefix: [callbacks.action(prefix, MAX_ID), f"{prefix}{MORE}{MAX_ID}"]
        for prefix in ACTION_PREFIXES
    }
    found[callbacks.LANGUAGE_PREFIX] = [
        callbacks.action(callbacks.LANGUAGE_PREFIX, code) for code in ("nl", "en")
    ]
    found[callbacks.CHECK_PREFIX] = [callbacks.check(MAX_ID, LONGEST_KEY)]
    found[callbacks.REVOKE_PREFIX] = [callbacks.revoke(MAX_ID, [MAX_ID] * len(INVITE_KINDS))]
    found[callbacks.DROP_PREFIX] = [
        callbacks.drop(answer, MAX_ID) for answer in headcounts.DROP_CHOICES
    ]
    for prefix in (
        callbacks.ABSENCE_PREFIX,
        callbacks.ABSENCE_YES_PREFIX,
        callbacks.ABSENCE_NO_PREFIX,
        callbacks.ABSENCE_UNDO_PREFIX,
    ):
        found[prefix] = [callbacks.absence(prefix, MAX_ID, LONGEST_KEY)]
    for prefix in DIALOG_PREFIXES:
        found[prefix] = _dialog_samples(prefix)
    return found


def test_every_prefix_constant_is_listed() -> None:
    constants = {
        value
        for name, value in vars(callbacks).items()
        if name.endswith("_PREFIX") and isinstance(value, str)
    }
    assert constants == set(ACTION_PREFIXES) | set(DIALOG_PREFIXES)


def test_prefixes_are_unique_and_none_starts_another() -> None:
    matched = [_matched(p) for p in (*ACTION_PREFIXES, *DIALOG_PREFIXES)]
    assert len(matched) == len(set(matched))
    for one in matched:
        for other in matched:
            assert one == other or not other.startswith(one), (one, other)


@pytest.mark.parametrize("prefix", [*ACTION_PREFIXES, *DIALOG_PREFIXES])
def test_longest_data_fits_64_bytes(prefix: str) -> None:
    for data in _samples()[prefix]:
        assert data.startswith(_matched(prefix))
        assert 1 <= len(data.encode()) <= MAX_BYTES, data


def test_each_button_reaches_the_handler_of_its_prefix_only() -> None:
    application = ApplicationBuilder().token("1:test").build()
    register_handlers(application)
    patterns: list[re.Pattern[str]] = [
        handler.pattern
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern)
    ]
    for samples in _samples().values():
        for data in samples:
            taken = [p.pattern for p in patterns if p.match(data)]
            assert len(taken) == 1, (data, taken)


def test_no_prefix_is_defined_outside_the_callbacks_module() -> None:
    defined = re.compile(r"^\w*PREFIX\s*=\s*[\"']", re.MULTILINE)
    literal_pattern = re.compile(r"pattern=f?[\"']\^")
    offenders = [
        str(path.relative_to(BOT))
        for path in BOT.rglob("*.py")
        if path.name != "callbacks.py"
        and (defined.search(text := path.read_text()) or literal_pattern.search(text))
    ]
    assert offenders == []
