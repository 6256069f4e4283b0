"""Telegram text with entities → HTML for the web chat.

Everything the bot or a user wrote is escaped; only the markup that the entities describe is
added, and links only for http(s) and tg addresses, so a message can never inject script or
style into the page. Offsets and lengths of entities count UTF-16 code units, as Telegram
does; emoji outside the basic plane take two.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_LINK_SCHEMES = frozenset({"http", "https", "tg"})

_SIMPLE_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ('<blockquote class="expandable">', "</blockquote>"),
    "bot_command": ('<span class="bot-command">', "</span>"),
}


@dataclass(frozen=True, slots=True)
class _Span:
    start: int  # Python string indices
    end: int
    opening: str
    closing: str
    order: int  # position in the entity list, to keep a stable nesting for equal ranges


def safe_link(url: str) -> str | None:
    """``url`` if a click on it may open it (http, https, tg), else ``None``."""
    candidate = url.strip()
    try:
        scheme = urlsplit(candidate).scheme.lower()
    except ValueError:
        return None
    return candidate if scheme in _LINK_SCHEMES else None


def _anchor(url: str) -> tuple[str, str]:
    href = html.escape(url, quote=True)
    return f'<a href="{href}" rel="noopener noreferrer" target="_blank">', "</a>"


def _utf16_index(text: str) -> list[int]:
    """For every UTF-16 offset (0..length) the Python index it falls on."""
    index: list[int] = []
    for position, char in enumerate(text):
        index.append(position)
        if ord(char) > 0xFFFF:
            # An offset that points into the middle of a surrogate pair snaps to the character.
            index.append(position)
    index.append(len(text))
    return index


def _tags(entity: Mapping[str, Any], text: str) -> tuple[str, str] | None:
    kind = entity.get("type")
    if kind in _SIMPLE_TAGS:
        return _SIMPLE_TAGS[str(kind)]
    if kind == "text_link":
        url = safe_link(str(entity.get("url", "")))
        return _anchor(url) if url else None
    if kind == "url":
        shown = text.strip()
        # Telegram opens "example.org" as http://example.org.
        url = safe_link(shown if "://" in shown else f"http://{shown}")
        return _anchor(url) if url else None
    return None


def _spans(text: str, entities: Iterable[Mapping[str, Any]]) -> list[_Span]:
    index = _utf16_index(text)
    total = len(index) - 1
    spans: list[_Span] = []
    for order, entity in enumerate(entities):
        try:
            offset = int(entity.get("offset", 0))
            length = int(entity.get("length", 0))
        except (TypeError, ValueError):
            continue
        first, last = max(0, offset), min(total, offset + length)
        if last <= first:
            continue
        start, end = index[first], index[last]
        if end <= start:
            continue
        tags = _tags(entity, text[start:end])
        if tags is not None:
            spans.append(_Span(start, end, tags[0], tags[1], order))
    return spans


def render(text: str | None, entities: Iterable[Mapping[str, Any]] | None = None) -> str:
    """Safe HTML for ``text`` with its Telegram ``entities``.

    Entities may nest or overlap: where one ends inside another, the inner ones are closed and
    opened again, so the tags always nest properly. Line breaks stay as they are (the page
    shows them with ``white-space: pre-wrap``).
    """
    if not text:
        return ""
    spans = _spans(text, entities or ())
    boundaries = sorted({0, len(text)} | {s.start for s in spans} | {s.end for s in spans})
    # Wider spans open first so they enclose the narrower ones that start at the same place.
    spans.sort(key=lambda s: (s.start, -s.end, s.order))
    out: list[str] = []
    open_spans: list[_Span] = []
    pending = iter(spans)
    upcoming = next(pending, None)
    for begin, finish in itertools.pairwise(boundaries):
        # Close what ended here; whatever was opened inside it is closed and opened again.
        reopen: list[_Span] = []
        while any(s.end <= begin for s in open_spans):
            span = open_spans.pop()
            out.append(span.closing)
            if span.end > begin:
                reopen.append(span)
        for span in reversed(reopen):
            out.append(span.opening)
            open_spans.append(span)
        while upcoming is not None and upcoming.start == begin:
            out.append(upcoming.opening)
            open_spans.append(upcoming)
            upcoming = next(pending, None)
        out.append(html.escape(text[begin:finish], quote=True))
    while open_spans:
        out.append(open_spans.pop().closing)
    return "".join(out)
