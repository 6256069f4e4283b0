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
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import httpx
from telegram import Bot, InputFile, Message
from telegram.error import NetworkError, TimedOut

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# A tag, an entity, or one character: the units a split may fall between.
_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+);|[\s\S]", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit Telegram's limits are counted in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _visible(token: str) -> str:
    if token.startswith("<") and token.endswith(">") and len(token) > 1:
        return ""
    if token.startswith("&") and token.endswith(";") and len(token) > 1:
        return html.unescape(token)
    return token


# The tokens of `_TOKEN` that are not shown as they are: tags and entities. Replacing them
# in one pass gives what joining every token's `_visible` gives, without a step per character.
_MARKUP = re.compile(r"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")


def _shown(match: re.Match[str]) -> str:
    return _visible(match.group())


def visible_text(html_text: str) -> str:
    """What the user sees of an HTML text: tags removed, entities decoded, ends trimmed."""
    return _MARKUP.sub(_shown, html_text).strip(" \t\r\n")


def visible_len(html_text: str) -> int:
    """The length Telegram checks: UTF-16 code units of the parsed, trimmed text."""
    return utf16_len(visible_text(html_text))


@dataclass
class _Tag:
    raw: str
    name: str
    closing: bool


def _tag(token: str) -> _Tag | None:
    if not (token.startswith("<") and token.endswith(">") and len(token) > 1):
        return None
    match = _TAG_NAME.match(token)
    if match is None:
        return None
    return _Tag(token, match.group(1).lower(), token.startswith("</"))


def _cuts(tokens: Sequence[str], limit: int) -> list[int]:
    """Token indices where a new message starts, each part at most `limit` visible units.

    A part ends after the last line break that fits; a line longer than a whole message is
    cut after its last space that fits, and only a "word" longer than a message is cut inside.
    """
    cuts: list[int] = []
    start = 0
    length = 0
    last_line = last_space = -1  # index of the first token after the break
    length_at_line = length_at_space = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        width = utf16_len(_visible(token))
        if width and length + width > limit and i > start:
            if last_line > start:
                cut, kept = last_line, length - length_at_line
            elif last_space > start:
                cut, kept = last_space, length - length_at_space
            else:
                cut, kept = i, 0
            cuts.append(cut)
            start, length = cut, kept
            last_line = last_space = -1
            # Break points after the cut are still valid; find them again from the cut.
            running = 0
            for j in range(cut, i):
                running += utf16_len(_visible(tokens[j]))
                if tokens[j] == "\n":
                    last_line, length_at_line = j + 1, running
                elif tokens[j] in (" ", "\t"):
                    last_space, length_at_space = j + 1, running
            continue
        length += width
        if token == "\n":
            last_line, length_at_line = i + 1, length
        elif token in (" ", "\t"):
            last_space, length_at_space = i + 1, length
        i += 1
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
    tokens = _TOKEN.findall(html_text)
    bounds = [0, *_cuts(tokens, limit), len(tokens)]
    parts: list[str] = []
    open_tags: list[_Tag] = []
    for begin, end in pairwise(bounds):
        body = [t.raw for t in open_tags]
        for token in tokens[begin:end]:
            body.append(token)
            tag = _tag(token)
            if tag is None:
                continue
            if tag.closing:
                for k in range(len(open_tags) - 1, -1, -1):
                    if open_tags[k].name == tag.name:
                        del open_tags[k]
                        break
            elif not token.endswith("/>"):
                open_tags.append(tag)
        body.extend(f"</{t.name}>" for t in reversed(open_tags))
        part = "".join(body)
        if visible_text(part):
            parts.append(part)
    return parts


@dataclass(frozen=True)
class Delivered:
    """What went out: `message_id` carries the buttons; `as_caption` if its text is a caption."""

    message_id: int
    as_caption: bool
    message_ids: list[int] = field(default_factory=list)


# Failures after which Telegram may or may not have acted on the request: the request was
# (or may have been) written, and the answer never came. Sending again may send it twice.
_UNCERTAIN_CAUSES: tuple[type[BaseException], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
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
    return isinstance(cause, _UNCERTAIN_CAUSES)


def _short_caption(caption: str | None) -> str | None:
    """`caption` if it fits a caption and shows something; a file goes without one otherwise."""
    if caption is None or not visible_text(caption) or visible_len(caption) > CAPTION_LIMIT:
        return None
    return caption


async def deliver(
    bot: Bot,
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
        sent: Message
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
