"""What the bot answers, as catalogue keys and parameters; rendered per language later."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
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
