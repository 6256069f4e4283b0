"""The one way a message reaches Telegram: measured as Telegram measures, never cut.

Telegram limits a message text to 4,096 and a caption to 1,024 UTF-16 code units of the text
*after* HTML parsing (tags do not count, `&amp;` counts as one, an emoji outside the Basic
Multilingual Plane counts as two). Cutting a Python string at 1,024 characters is wrong both
ways: it cuts text that would fit, and it lets through text that does not. So every message
goes out through `deliver`: a caption that does not fit becomes the file followed by the whole
text, and a text that does not fit one message becomes several, split at line breaks.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Protocol

import aiohttp
import httpx
from telegram import InputFile
from telegram.error import NetworkError, TimedOut

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit Telegram's limits are counted in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# What is not shown as it is written: a tag (shown as nothing) or an entity (shown decoded).
# Everything else is shown character for character, and a message may be split between any
# two of these units, never inside a tag or an entity.
_TAG_TOKEN = re.compile(r"<[^<>]*>")
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")
# Both in one pass, the entity as group 1.
_MARKUP = re.compile(f"{_TAG_TOKEN.pattern}|({_ENTITY.pattern})")
# The start of an entity with a tag inside ("&am<b>p;"): such a text only reads as the parser
# reads it when tags and entities are taken in one pass.
_ENTITY_BEFORE_TAG = re.compile(r"&[#0-9A-Za-z]*<")


def _shown(match: re.Match[str]) -> str:
    entity = match.group(1)
    return html.unescape(entity) if entity else ""


def _decoded(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def _unmarked(html_text: str) -> str:
    """`html_text` with its tags removed and its entities decoded (nothing trimmed)."""
    if "&" not in html_text:
        return _TAG_TOKEN.sub("", html_text)
    if _ENTITY_BEFORE_TAG.search(html_text):
        return _MARKUP.sub(_shown, html_text)
    # No tag inside what could be an entity: the tags go first, then the entities.
    return _ENTITY.sub(_decoded, _TAG_TOKEN.sub("", html_text))


def visible_text(html_text: str) -> str:
    """What the user sees of an HTML text: tags removed, entities decoded, ends trimmed."""
    return _unmarked(html_text).strip(" \t\r\n")


def visible_len(html_text: str) -> int:
    """The length Telegram checks: UTF-16 code units of the parsed, trimmed text."""
    return utf16_len(visible_text(html_text))


# A tag with a name: group 1 is "/" for a closing tag, group 2 the name. A "<" always starts
# a tag or stands for itself, so searching a part from its start finds the same tags.
_NAMED_TAG = re.compile(r"<(/?)\s*([A-Za-z][A-Za-z0-9-]*)[^<>]*>")


@dataclass
class _Tag:
    raw: str
    name: str


def _open_after(open_tags: list[_Tag], html_part: str) -> None:
    """Update the tags open before `html_part` to those open after it."""
    for match in _NAMED_TAG.finditer(html_part):
        name = match.group(2).lower()
        if match.group(1):
            for k in range(len(open_tags) - 1, -1, -1):
                if open_tags[k].name == name:
                    del open_tags[k]
                    break
        elif not match.group().endswith("/>"):
            open_tags.append(_Tag(match.group(), name))


# A run of plain characters, or one tag or entity: (start, end, width), where the width is
# that of a tag or an entity in visible UTF-16 units, and TEXT for plain characters (measured
# as they are cut).
_Piece = tuple[int, int, int]
TEXT = -1


def _pieces(html_text: str) -> list[_Piece]:
    """The text as plain runs and markup, in order, covering every character."""
    pieces: list[_Piece] = []
    at = 0
    for match in _MARKUP.finditer(html_text):
        begin, end = match.span()
        if begin > at:
            pieces.append((at, begin, TEXT))
        entity = match.group(1)
        pieces.append((begin, end, utf16_len(html.unescape(entity)) if entity else 0))
        at = end
    if at < len(html_text):
        pieces.append((at, len(html_text), TEXT))
    return pieces


def _fitting(text: str, room: int) -> int:
    """How many characters at the start of `text` take at most `room` UTF-16 units."""
    if room <= 0:
        return 0
    if text.isascii():
        return min(room, len(text))
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) <= 2 * room:
        return len(text)
    head = units[: 2 * room]
    if 0xD8 <= head[-1] <= 0xDB:  # half of a pair of surrogates: that character does not fit
        head = head[:-2]
    return len(head.decode("utf-16-le", "surrogatepass"))


def _last_break(text: str, offset: int) -> tuple[int, int]:
    """Positions just after the last line break and after the last space or tab of `text`
    (which starts at `offset` in the whole), -1 for none."""
    line = text.rfind("\n")
    space = max(text.rfind(" "), text.rfind("\t"))
    return (offset + line + 1 if line >= 0 else -1, offset + space + 1 if space >= 0 else -1)


def _cut_after(
    html_text: str, pieces: Sequence[_Piece], starts: Sequence[int], start: int, limit: int
) -> int | None:
    """Where the part that begins at `start` ends (a position in `html_text`), each part at most
    `limit` visible units; None when the rest fits. `starts` are the pieces' starts.

    A part ends after the last line break that fits; a line longer than a whole message is
    cut after its last space that fits, and only a "word" longer than a message is cut
    inside. A single character or entity wider than `limit` is a part of its own.
    """
    length = 0
    last_line = last_space = -1
    for index in range(max(bisect_right(starts, start) - 1, 0), len(pieces)):
        piece_start, piece_end, piece_width = pieces[index]
        begin = max(piece_start, start)
        if piece_width != TEXT:
            if piece_width and length + piece_width > limit and begin > start:
                overflow = begin
                break
            length += piece_width
            continue
        text = html_text[begin:piece_end]
        width = utf16_len(text)
        if length + width > limit:
            fits = _fitting(text, limit - length)
            if begin + fits == start:
                # The part's first character is wider than a message: it goes all the same.
                fits = 1 + _fitting(text[1:], limit - length - utf16_len(text[:1]))
            if fits < len(text):
                line, space = _last_break(text[:fits], begin)
                last_line, last_space = max(last_line, line), max(last_space, space)
                overflow = begin + fits
                break
        line, space = _last_break(text, begin)
        last_line, last_space = max(last_line, line), max(last_space, space)
        length += width
    else:
        return None
    if last_line > start:
        return last_line
    if last_space > start:
        return last_space
    return overflow


# A tag with a line break inside: the text is then no longer measured line by line.
_TAG_OVER_LINES = re.compile(r"<[^<>]*\n[^<>]*>")


class _Splitter:
    """Finds where each part of a long text ends: line by line while whole lines fit, and
    through its tags, entities and characters (`_cut_after`) only where a part holds no line
    break to end at."""

    def __init__(self, html_text: str, limit: int) -> None:
        self.text = html_text
        self.limit = limit
        self.by_lines = _TAG_OVER_LINES.search(html_text) is None
        self._pieces: list[_Piece] | None = None
        self._starts: list[int] = []

    def _within_lines(self, start: int) -> int | None:
        if not self._pieces:
            self._pieces = _pieces(self.text)
            self._starts = [p[0] for p in self._pieces]
        return _cut_after(self.text, self._pieces, self._starts, start, self.limit)

    def cut_after(self, start: int) -> int | None:
        """Where the part that begins at `start` ends; None when the rest fits.

        As `_cut_after`: the part ends after the last line break before the first character
        that does not fit. While whole lines with their breaks fit, that is the start of the
        line in which (or at whose break) the part overflows.
        """
        if not self.by_lines:
            return self._within_lines(start)
        text, length, at = self.text, 0, start
        while True:
            newline = text.find("\n", at)
            end = len(text) if newline < 0 else newline
            length += utf16_len(_unmarked(text[at:end]))
            if newline < 0 and length <= self.limit:
                return None
            if newline >= 0 and length + 1 <= self.limit:
                length += 1
                at = newline + 1
                continue
            return at if at > start else self._within_lines(start)


def _cuts(html_text: str, limit: int) -> list[int]:
    """Positions in `html_text` where a new message starts, part after part."""
    splitter = _Splitter(html_text, limit)
    cuts: list[int] = []
    start = 0
    while (cut := splitter.cut_after(start)) is not None:
        cuts.append(cut)
        start = cut
    return cuts


def split_message(html_text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`html_text` as messages of at most `limit` visible UTF-16 units each.

    Splits at line breaks (a single over-long line at spaces), never inside a tag or an
    entity; a tag open across a split is closed at the end of one part and opened again at
    the start of the next, so each part is valid HTML on its own. Nothing is left out: the
    parts together show the whole text. Parts that would show nothing are dropped.
    """
    if visible_len(html_text) <= limit:
        return [html_text]
    bounds = [0, *_cuts(html_text, limit), len(html_text)]
    parts: list[str] = []
    open_tags: list[_Tag] = []
    for begin, end in pairwise(bounds):
        raw = html_text[begin:end]
        body = [*(t.raw for t in open_tags), raw]
        _open_after(open_tags, raw)
        body.extend(f"</{t.name}>" for t in reversed(open_tags))
        part = "".join(body)
        if visible_text(part):
            parts.append(part)
    return parts


class Sent(Protocol):
    """A message Telegram accepted: python-telegram-bot's `Message`, or only its id."""

    @property
    def message_id(self) -> int: ...


class Sender(Protocol):
    """What `deliver` sends through: python-telegram-bot's `Bot`, or the outbox's pacing of it
    (bot/jobs/outbox.py)."""

    async def send_message(self, chat_id: int, text: str, *, reply_markup: Any = None) -> Sent: ...

    async def send_photo(
        self,
        chat_id: int,
        photo: str | bytes | InputFile,
        *,
        caption: str | None = None,
        reply_markup: Any = None,
    ) -> Sent: ...

    async def send_document(
        self,
        chat_id: int,
        document: str | bytes | InputFile,
        *,
        filename: str | None = None,
        caption: str | None = None,
        reply_markup: Any = None,
    ) -> Sent: ...


@dataclass(frozen=True)
class Delivered:
    """What went out: `message_id` carries the buttons; `as_caption` if its text is a caption."""

    message_id: int
    as_caption: bool
    message_ids: list[int] = field(default_factory=list)


# Failures after which Telegram may or may not have acted on the request: the request was
# (or may have been) written, and the answer never came. Sending again may send it twice.
# The bot's own transport is aiohttp (bot/request.py); httpx is python-telegram-bot's.
_UNCERTAIN_CAUSES: tuple[type[BaseException], ...] = (
    aiohttp.SocketTimeoutError,  # no answer in time
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientOSError,  # the connection broke (refusals are below)
    TimeoutError,  # a file's whole call took too long
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
# Failures before anything was written: no connection, or none free in time.
_NOT_SENT_CAUSES: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)


def outcome_unknown(error: BaseException) -> bool:
    """Whether Telegram may have delivered the message although the call failed.

    A timed-out read or a connection dropped after the request went out leaves the outcome
    unknown; a refused connection, a connect or pool timeout, or any answer from Telegram
    (even an error) does not.
    """
    if not isinstance(error, NetworkError):
        return False
    cause = error.__cause__
    if cause is None:
        # PTB raises TimedOut without a cause only for its own pool timeout wording.
        return isinstance(error, TimedOut) and "pool" not in str(error).lower()
    return not isinstance(cause, _NOT_SENT_CAUSES) and isinstance(cause, _UNCERTAIN_CAUSES)


def _short_caption(caption: str | None) -> str | None:
    """`caption` if it fits a caption and shows something; a file goes without one otherwise."""
    if caption is None or not visible_text(caption) or visible_len(caption) > CAPTION_LIMIT:
        return None
    return caption


async def deliver(
    bot: Sender,
    chat_id: int,
    text: str,
    *,
    reply_markup: Any = None,
    photo: str | bytes | InputFile | None = None,
    document: str | bytes | InputFile | None = None,
    filename: str | None = None,
    file_caption: str | None = None,
) -> Delivered:
    """Send `text` (HTML) to `chat_id`, with a photo or document if given, always whole.

    With a file, the text is its caption when it fits one; otherwise the file goes first, with
    `file_caption` (a short line saying what it belongs to) if given, and the full text
    follows as its own message(s). The buttons go on the last message. Errors
    from Telegram are raised as they come (the caller decides about retries); parts sent
    before an error stay sent.
    """
    ids: list[int] = []
    has_text = bool(visible_text(text))
    if photo is not None or document is not None:
        fits = has_text and visible_len(text) <= CAPTION_LIMIT
        caption = text if fits else _short_caption(file_caption)
        markup = reply_markup if fits or not has_text else None
        sent: Sent
        if photo is not None:
            sent = await bot.send_photo(chat_id, photo, caption=caption, reply_markup=markup)
        else:
            assert document is not None  # a photo or a document, and not a photo
            sent = await bot.send_document(
                chat_id, document, filename=filename, caption=caption, reply_markup=markup
            )
        ids.append(sent.message_id)
        if fits or not has_text:
            return Delivered(sent.message_id, True, ids)
    parts = split_message(text)
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        sent = await bot.send_message(chat_id, part, reply_markup=reply_markup if last else None)
        ids.append(sent.message_id)
    return Delivered(ids[-1], False, ids)
