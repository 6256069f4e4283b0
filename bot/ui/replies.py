"""What the bot answers, as catalogue keys and parameters, and its rendering per language
into Telegram text and keyboards."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, Protocol

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.domain.dates import format_date, format_time
from bot.domain.programme import Text
from bot.texts import Markup, Texts


class Localized(Protocol):
    def get(self, lang: str) -> str: ...


@dataclass(frozen=True)
class Deferred:
    """A parameter that can only be written once the reader's language is known."""

    render: Callable[[Texts, str], Markup]


@dataclass(frozen=True)
class Btn:
    """An inline button: a catalogue text (`key`) or a literal label such as a school name."""

    data: str | None = None
    key: str | None = None
    label: str | Localized | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply; the reply's text becomes its caption."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Reply:
    key: str
    params: Mapping[str, object] = field(default_factory=dict)
    buttons: tuple[tuple[Btn, ...], ...] = ()
    attachment: Attachment | None = None
    # A reply-keyboard button that shares the user's location (instead of inline buttons).
    location_button: str | None = None
    remove_keyboard: bool = False


def rows(buttons: list[Btn], per_row: int = 2) -> tuple[tuple[Btn, ...], ...]:
    """Lay buttons out in rows of `per_row`."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


# -- rendering: catalogue keys into Telegram text and keyboards ------------------------------


def _label(texts: Texts, lang: str, button: Btn) -> str:
    if button.key is not None:
        return texts.plain(lang, button.key, **params_for(texts, lang, button.params))
    if button.label is None:
        raise ValueError("a button needs a key or a label")
    if isinstance(button.label, str):
        return button.label
    return button.label.get(lang)


def keyboard(
    texts: Texts, lang: str, buttons: tuple[tuple[Btn, ...], ...]
) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_label(texts, lang, b), callback_data=b.data, url=b.url)
                for b in row
            ]
            for row in buttons
        ]
    )


def keyboard_dict(
    texts: Texts, lang: str, buttons: tuple[tuple[Btn, ...], ...]
) -> dict[str, Any] | None:
    """`keyboard` as Telegram reads it (its `to_dict()`), without building PTB's objects: for
    the outbox, whose pushes send it as it is (bot/extbot.py)."""
    if not buttons:
        return None
    return {"inline_keyboard": [[_button_dict(texts, lang, b) for b in row] for row in buttons]}


def _button_dict(texts: Texts, lang: str, button: Btn) -> dict[str, Any]:
    fields: dict[str, Any] = {"text": _label(texts, lang, button)}
    if button.url is not None:
        fields["url"] = button.url
    if button.data is not None:
        fields["callback_data"] = button.data
    return fields


def _param(texts: Texts, lang: str, value: object) -> object:
    """Values that read differently per language are written out here."""
    if isinstance(value, Deferred):
        return value.render(texts, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, time):
        return format_time(value)
    if isinstance(value, Text):
        return value.get(lang)
    return value


def markup(
    texts: Texts, lang: str, reply: Reply
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The keyboard of a reply: inline buttons, a location request, or none."""
    if reply.location_button is not None:
        button = KeyboardButton(texts.plain(lang, reply.location_button), request_location=True)
        return ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return keyboard(texts, lang, reply.buttons)


def params_for(texts: Texts, lang: str, params: Mapping[str, object]) -> dict[str, object]:
    return {name: _param(texts, lang, value) for name, value in params.items()}


def text(texts: Texts, lang: str, reply: Reply) -> str:
    return texts.get(lang, reply.key, **params_for(texts, lang, reply.params))
