"""The message catalogue: every user-facing string, in Dutch and English.

Texts are HTML (Telegram's parse mode); parameters are escaped when filled in, so a school
called "A & B" or a user typing "<b>" can never break a message.
"""

from __future__ import annotations

import html
import string
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("nl", "en")
FALLBACK = "nl"
_DIR = Path(__file__).resolve().parent


class Markup(str):
    """A parameter value that is already safe HTML and must not be escaped again."""

    __slots__ = ()


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(name, value, out)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise ValueError(f"{name}: a text must be a string")


def load_catalogue(lang: str, directory: Path = _DIR) -> dict[str, str]:
    with (directory / f"{lang}.toml").open("rb") as handle:
        data = tomllib.load(handle)
    out: dict[str, str] = {}
    _flatten("", data, out)
    return out


def placeholders(template: str) -> set[str]:
    """The named fields a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _escape(value: object) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape(str(value), quote=False)


class Texts:
    """Looks texts up by key and language, filling in escaped parameters."""

    def __init__(self, catalogues: Mapping[str, Mapping[str, str]]) -> None:
        self._catalogues = catalogues

    @classmethod
    def load(cls) -> Texts:
        return cls({lang: load_catalogue(lang) for lang in LANGUAGES})

    def has(self, key: str) -> bool:
        return key in self._catalogues[FALLBACK]

    def keys(self, lang: str) -> set[str]:
        return set(self._catalogues[lang])

    def raw(self, lang: str, key: str) -> str:
        catalogue = self._catalogues.get(lang) or self._catalogues[FALLBACK]
        if key in catalogue:
            return catalogue[key]
        return self._catalogues[FALLBACK][key]

    def get(self, lang: str, key: str, /, **params: object) -> str:
        template = self.raw(lang, key)
        return template.format_map({name: _escape(value) for name, value in params.items()})

    def amount(self, lang: str, key: str, count: int) -> str:
        """ "1 minuut" or "5 minuten": `key`_one or `key`_many, with the count filled in."""
        return self.plain(lang, f"{key}_{'one' if count == 1 else 'many'}", count=count)

    def plain(self, lang: str, key: str, /, **params: object) -> str:
        """A text for places without HTML (buttons, command menus, the terminal)."""
        return self.raw(lang, key).format_map({k: str(v) for k, v in params.items()})


@lru_cache(maxsize=1)
def get_texts() -> Texts:
    return Texts.load()
