"""Validation of ``reply_markup`` the way Telegram rejects it.

The one place that is stricter than Telegram: an inline button with more than one action field
is an error here, while Telegram silently picks one of them. Such a button never does what its
author meant, so tests should catch it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

JSONDict = dict[str, Any]

# Every optional field of InlineKeyboardButton that gives the button its action.
INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100

_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


class KeyboardError(ValueError):
    """The reply markup is invalid; ``str(error)`` is the description after ``Bad Request:``."""


def validate_reply_markup(markup: Any) -> JSONDict | None:
    """Check a decoded ``reply_markup`` value and return the markup to store.

    An inline keyboard without buttons is returned as ``None`` because Telegram then shows
    (and returns) a message without a keyboard.
    """
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise KeyboardError("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _validate_inline_keyboard(markup)
    if "keyboard" in markup:
        _validate_reply_keyboard(markup)
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise KeyboardError("can't parse reply keyboard markup JSON object")


def _validate_inline_keyboard(markup: JSONDict) -> JSONDict | None:
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise KeyboardError(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    count = 0
    for row in rows:
        for button in row:
            _validate_inline_button(button)
            count += 1
    if count > MAX_BUTTONS:
        raise KeyboardError("reply markup is too long")
    if count == 0:
        return None
    return markup


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise KeyboardError(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if not isinstance(button.get("text"), str):
        raise KeyboardError(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [name for name in INLINE_BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise KeyboardError(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise KeyboardError(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, found {', '.join(actions)}"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= (
            MAX_CALLBACK_DATA_BYTES
        ):
            raise KeyboardError("BUTTON_DATA_INVALID")
    if "url" in actions:
        check_button_url(button["url"])


def check_button_url(url: Any) -> None:
    """Raise :class:`KeyboardError` unless ``url`` is an absolute http(s) or tg URL."""
    if not isinstance(url, str):
        raise KeyboardError(
            'can\'t parse inline keyboard button: Field "url" must be of type String'
        )

    def invalid(reason: str) -> KeyboardError:
        return KeyboardError(f"inline keyboard button URL '{url}' is invalid: {reason}")

    if not url or any(char.isspace() for char in url):
        raise invalid("Wrong HTTP URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise invalid("Wrong port number specified in the URL") from error
    scheme = parts.scheme.lower()
    if "://" not in url or not scheme:
        raise invalid("Wrong HTTP URL")
    if scheme == "tg":
        if not parts.netloc:
            raise invalid("Wrong URL")
        return
    if scheme not in ("http", "https"):
        raise invalid("Unsupported URL protocol")
    if port == 0:
        raise invalid("Wrong port number specified in the URL")
    host = parts.hostname or ""
    labels = host.split(".")
    # Telegram refuses hosts such as "localhost" that cannot be reached from its servers.
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        raise invalid("Wrong HTTP URL")
    if labels[-1].isdigit() and not all(label.isdigit() for label in labels):
        raise invalid("Wrong HTTP URL")


def _validate_reply_keyboard(markup: JSONDict) -> None:
    rows = markup["keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise KeyboardError(
            'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            text = button if isinstance(button, str) else None
            if isinstance(button, dict):
                text = button.get("text")
            if not isinstance(text, str) or not text:
                raise KeyboardError(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
