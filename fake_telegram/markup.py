"""Parse-mode handling that follows Telegram's own parsers (tdlib ``MessageEntity.cpp``).

The parsers turn a marked-up string into the plain text the user sees plus Bot API
``MessageEntity`` dictionaries with offsets and lengths in UTF-16 code units. Errors carry
Telegram's wording so that bot code sees the same ``BadRequest`` messages as in production.

One deliberate deviation: Telegram silently keeps an ``&`` that does not start an HTML entity,
although its documentation says every such ``&`` must be escaped. Here it is an error, so that
a forgotten ``html.escape`` shows up in tests instead of in front of users.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

# tdlib's is_space(): the end of the text behaves like a NUL byte, which also counts as space.
_SPACES = frozenset(" \t\r\n\v\f\0")
_END = "\0"

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")

# Bot API entity type names, keyed by the names tdlib uses in its error messages.
_TYPE_NAMES = {
    "Bold": "bold",
    "Italic": "italic",
    "Underline": "underline",
    "Strikethrough": "strikethrough",
    "Spoiler": "spoiler",
    "Code": "code",
    "Pre": "pre",
    "PreCode": "pre",
    "TextUrl": "text_link",
    "CustomEmoji": "custom_emoji",
    "BlockQuote": "blockquote",
    "ExpandableBlockQuote": "expandable_blockquote",
}

KNOWN_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)


class MarkupError(ValueError):
    """The text could not be parsed; ``str(error)`` is Telegram's description after
    ``can't parse entities:``."""


class UnsupportedParseModeError(ValueError):
    """The ``parse_mode`` value is not one Telegram knows."""


@dataclass(slots=True)
class FormattedText:
    """Plain text as the user sees it plus its Bot API entities."""

    text: str
    entities: list[JSONDict] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Length in UTF-16 code units, the unit Telegram's limits are expressed in."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _char_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def parse_text(
    text: str,
    parse_mode: str | None,
    entities: Any = None,
    *,
    known_users: Mapping[int, JSONDict] | None = None,
) -> FormattedText:
    """Turn the ``text``/``parse_mode``/``entities`` parameters into what the user sees.

    As in the Bot API, ``parse_mode`` wins over explicit ``entities`` and is case-insensitive;
    ``"none"`` and an empty value mean plain text. Leading and trailing whitespace is trimmed
    like Telegram does. Raises :class:`MarkupError` or :class:`UnsupportedParseModeError`.
    """
    mode = (parse_mode or "").lower()
    if mode and mode != "none":
        if mode == "html":
            parsed = _parse_html(text, known_users or {})
        elif mode == "markdownv2":
            parsed = _parse_markdown_v2(text, known_users or {})
        elif mode == "markdown":
            parsed = _parse_markdown(text, known_users or {})
        else:
            raise UnsupportedParseModeError(parse_mode)
    else:
        parsed = FormattedText(text, _check_explicit_entities(text, entities))
    return _trim(parsed)


def _check_explicit_entities(text: str, entities: Any) -> list[JSONDict]:
    if entities in (None, ""):
        return []
    if not isinstance(entities, list):
        raise MarkupError("entities must be an Array")
    total = utf16_len(text)
    result: list[JSONDict] = []
    for entity in entities:
        if not isinstance(entity, dict):
            raise MarkupError("entity must be an Object")
        entity_type = entity.get("type")
        offset = entity.get("offset")
        length = entity.get("length")
        if entity_type not in KNOWN_ENTITY_TYPES:
            raise MarkupError(f"Unsupported entity type {entity_type!r}")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            raise MarkupError("entity offset and length must be non-negative integers")
        if length <= 0 or offset >= total:
            # tdlib drops entities that cover nothing instead of failing the request.
            continue
        clipped = dict(entity)
        clipped["length"] = min(length, total - offset)
        result.append(clipped)
    return _sorted_entities(result)


def _trim(parsed: FormattedText) -> FormattedText:
    text = parsed.text
    stripped_left = text.lstrip(" \t\r\n")
    lead = len(text) - len(stripped_left)
    stripped = stripped_left.rstrip(" \t\r\n")
    if lead == 0 and len(stripped) == len(text):
        return parsed
    new_length = utf16_len(stripped)
    entities: list[JSONDict] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, new_length)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, entities)


def _sorted_entities(entities: list[JSONDict]) -> list[JSONDict]:
    return sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))


def _link_entity(
    url: str, offset: int, length: int, known_users: Mapping[int, JSONDict]
) -> JSONDict | None:
    """Build a text_link or text_mention entity, or ``None`` for a link Telegram drops."""
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() == "tg" and parts.netloc.lower() == "user":
        user_ids = parse_qs(parts.query).get("id", [])
        if user_ids and user_ids[0].isdigit():
            user_id = int(user_ids[0])
            user = known_users.get(user_id, {"id": user_id, "is_bot": False, "first_name": ""})
            return {"type": "text_mention", "offset": offset, "length": length, "user": user}
        return None
    if not parts.scheme:
        url = "http://" + url
        parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ftp", "tg", "ton") or not parts.netloc:
        return None
    if scheme != "tg" and "." not in (parts.hostname or ""):
        # Like Telegram's check_link: a bare word such as "leeg" is no web address.
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


# ---------------------------------------------------------------------------------------------
# HTML


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[pos] == "&"``.

    Returns the character and the index after the reference, or ``None`` if there is none.
    Like tdlib, the closing semicolon is optional.
    """
    size = len(text)
    end = pos + 1
    if end < size and text[end] == "#":
        end += 1
        value = 0
        hexadecimal = end < size and text[end] == "x"
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while end < size and text[end] in digits:
            value = value * (16 if hexadecimal else 10) + int(text[end], 16)
            end += 1
            if value >= 0x10FFFF:
                return None
        if value == 0 or 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        while end < size and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _HTML_NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < size and text[end] == ";":
        end += 1
    return char, end


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    result_index: int


def _parse_html(text: str, known_users: Mapping[int, JSONDict]) -> FormattedText:
    size = len(text)

    def at(index: int) -> str:
        return text[index] if index < size else _END

    result: list[str] = []
    entities: list[JSONDict] = []
    nested: list[_OpenTag] = []
    utf16_offset = 0
    i = 0
    while i < size:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is None:
                raise MarkupError(
                    f'Character "&" at byte offset {_byte_offset(text, i)} is not part of an '
                    'HTML entity and must be escaped as "&amp;"'
                )
            result.append(decoded[0])
            utf16_offset += _char_units(decoded[0])
            i = decoded[1]
            continue
        if char != "<":
            result.append(char)
            utf16_offset += _char_units(char)
            i += 1
            continue

        begin = i
        begin_bytes = _byte_offset(text, begin)
        i += 1
        if at(i) != "/":
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if at(i) == _END:
                raise MarkupError(f"Unclosed start tag at byte offset {begin_bytes}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')
            argument = ""
            while at(i) != ">":
                while at(i) != _END and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attribute_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attribute = text[attribute_begin:i]
                if not attribute:
                    raise MarkupError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin_bytes}'
                    )
                while at(i) != _END and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attribute.lower() == "expandable":
                        argument = "expandable"
                    continue
                i += 1
                while at(i) != _END and at(i) in _SPACES:
                    i += 1
                if at(i) == _END:
                    raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {begin_bytes}')
                if at(i) not in "'\"":
                    token_begin = i
                    while (at(i).isascii() and at(i).isalnum()) or at(i) in ".-":
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise MarkupError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    value_chars: list[str] = []
                    while at(i) != quote and at(i) != _END:
                        if at(i) == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        value_chars.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if at(i) == _END:
                    raise MarkupError(f"Unclosed start tag at byte offset {begin_bytes}")
                attribute = attribute.lower()
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value.removeprefix("language-")
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value.removeprefix("tg-")
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise MarkupError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}'
                )
            nested.append(_OpenTag(tag, argument, utf16_offset, len(result)))
            i += 1
            continue

        # An end tag.
        if not nested:
            raise MarkupError(f"Unexpected end tag at byte offset {begin_bytes}")
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while at(i) != _END and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise MarkupError(f"Unclosed end tag at byte offset {begin_bytes}")
        opened = nested.pop()
        if end_tag and end_tag != opened.name:
            raise MarkupError(
                f'Unmatched end tag at byte offset {begin_bytes}, expected "</{opened.name}>", '
                f'found "</{end_tag}>"'
            )
        i += 1
        if utf16_offset > opened.utf16_offset:
            _close_html_entity(opened, utf16_offset, result, entities, known_users)

    if nested:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{nested[-1].name}"')
    for entity in entities:
        if entity["type"] == "code":
            # The language was only kept for a <pre> that might have enclosed this <code>.
            entity.pop("language", None)
    return FormattedText("".join(result), _sorted_entities(entities))


def _close_html_entity(
    opened: _OpenTag,
    utf16_offset: int,
    result: list[str],
    entities: list[JSONDict],
    known_users: Mapping[int, JSONDict],
) -> None:
    offset = opened.utf16_offset
    length = utf16_offset - offset
    simple = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
    name = opened.name
    if name in simple:
        entities.append({"type": simple[name], "offset": offset, "length": length})
    elif name == "blockquote":
        kind = "expandable_blockquote" if opened.argument == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif name == "tg-emoji":
        if opened.argument.isdigit():
            entities.append(
                {
                    "type": "custom_emoji",
                    "offset": offset,
                    "length": length,
                    "custom_emoji_id": opened.argument,
                }
            )
    elif name == "a":
        url = opened.argument or "".join(result[opened.result_index :])
        entity = _link_entity(url, offset, length, known_users)
        if entity is not None:
            entities.append(entity)
    elif name == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
            and last.get("language")
        ):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif name == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and last["offset"] == offset
            and last["length"] == length
            and opened.argument
        ):
            last["language"] = opened.argument
        elif opened.argument:
            # Remember the language in case an enclosing <pre> closes right after.
            entities.append(
                {"type": "code", "offset": offset, "length": length, "language": opened.argument}
            )
        else:
            entities.append({"type": "code", "offset": offset, "length": length})


# ---------------------------------------------------------------------------------------------
# MarkdownV2


@dataclass(slots=True)
class _OpenMarkdown:
    kind: str
    argument: str
    utf16_offset: int
    byte_offset: int
    result_index: int


def _parse_markdown_v2(text: str, known_users: Mapping[int, JSONDict]) -> FormattedText:
    size = len(text)

    def at(index: int) -> str:
        return text[index] if index < size else _END

    result: list[str] = []
    entities: list[JSONDict] = []
    nested: list[_OpenMarkdown] = []
    utf16_offset = 0
    quote_start: int | None = None
    quote_end = 0
    i = 0
    while i < size:
        char = text[i]
        line_start = i == 0 or text[i - 1] == "\n"
        in_code = bool(nested) and nested[-1].kind in ("Code", "Pre", "PreCode")

        if line_start and quote_start is not None and char != ">":
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": quote_end - quote_start}
            )
            quote_start = None
        if char == "\\" and "\0" < at(i + 1) <= "~":
            result.append(text[i + 1])
            utf16_offset += 1
            i += 2
            if quote_start is not None:
                quote_end = utf16_offset
            continue
        if char == ">" and line_start and not in_code:
            if quote_start is None:
                quote_start = utf16_offset
            quote_end = utf16_offset
            i += 1
            continue

        reserved = "`" if in_code else _MARKDOWN_V2_RESERVED
        if char not in reserved:
            result.append(char)
            if char != "\n" and quote_start is not None:
                quote_end = utf16_offset + _char_units(char)
            utf16_offset += _char_units(char)
            i += 1
            continue

        closes = False
        if nested:
            kind = nested[-1].kind
            closes = (
                (kind == "Bold" and char == "*")
                or (kind == "Italic" and char == "_" and at(i + 1) != "_")
                or (kind == "Code" and char == "`")
                or (kind in ("Pre", "PreCode") and text[i : i + 3] == "```")
                or (kind in ("TextUrl", "CustomEmoji") and char == "]")
                or (kind == "Underline" and text[i : i + 2] == "__")
                or (kind == "Strikethrough" and char == "~")
                or (kind == "Spoiler" and text[i : i + 2] == "||")
            )

        if not closes:
            entity_byte_offset = _byte_offset(text, i)
            argument = ""
            if char == "_":
                if at(i + 1) == "_":
                    kind = "Underline"
                    i += 1
                else:
                    kind = "Italic"
            elif char == "*":
                kind = "Bold"
            elif char == "~":
                kind = "Strikethrough"
            elif char == "|" and at(i + 1) == "|":
                kind = "Spoiler"
                i += 1
            elif char == "[":
                kind = "TextUrl"
            elif char == "`":
                if text[i : i + 3] == "```":
                    i += 3
                    kind = "Pre"
                    language_end = i
                    while at(language_end) not in _SPACES and at(language_end) != "`":
                        language_end += 1
                    if i != language_end and language_end < size and at(language_end) != "`":
                        kind = "PreCode"
                        argument = text[i:language_end]
                        i = language_end
                    if at(i) in "\r\n":
                        # Telegram skips one line break right after the opening fence.
                        if at(i + 1) in "\r\n" and at(i) != at(i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "Code"
            elif char == "!" and at(i + 1) == "[":
                kind = "CustomEmoji"
                i += 1
            else:
                raise MarkupError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            nested.append(
                _OpenMarkdown(kind, argument, utf16_offset, entity_byte_offset, len(result))
            )
            i += 1
            continue

        opened = nested.pop()
        kind = opened.kind
        skip = utf16_offset == opened.utf16_offset
        entity: JSONDict | None = None
        length = utf16_offset - opened.utf16_offset
        if kind in ("Underline", "Spoiler"):
            i += 1
        elif kind in ("Pre", "PreCode"):
            i += 2
        elif kind in ("TextUrl", "CustomEmoji"):
            url_chars: list[str] = []
            if at(i + 1) != "(":
                url_chars = result[opened.result_index :]
            else:
                i += 2
                url_begin = i
                while i < size and text[i] != ")":
                    if text[i] == "\\" and "\0" < at(i + 1) <= "~":
                        url_chars.append(text[i + 1])
                        i += 2
                        continue
                    url_chars.append(text[i])
                    i += 1
                if at(i) != ")":
                    raise MarkupError(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
            url = "".join(url_chars)
            if kind == "CustomEmoji":
                emoji_id = url.removeprefix("tg://emoji?id=")
                if emoji_id.isdigit() and not skip:
                    entity = {
                        "type": "custom_emoji",
                        "offset": opened.utf16_offset,
                        "length": length,
                        "custom_emoji_id": emoji_id,
                    }
                skip = True
            else:
                entity = _link_entity(url, opened.utf16_offset, length, known_users)
                skip = True
        if entity is not None and length > 0:
            entities.append(entity)
        if not skip:
            new_entity: JSONDict = {
                "type": _TYPE_NAMES[kind],
                "offset": opened.utf16_offset,
                "length": length,
            }
            if kind == "PreCode":
                new_entity["language"] = opened.argument
            entities.append(new_entity)
        i += 1

    if nested:
        raise MarkupError(
            f"Can't find end of {nested[-1].kind} entity at byte offset {nested[-1].byte_offset}"
        )
    if quote_start is not None and quote_end > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": quote_end - quote_start}
        )
    return FormattedText("".join(result), _sorted_entities(entities))


# ---------------------------------------------------------------------------------------------
# Legacy Markdown


def _parse_markdown(text: str, known_users: Mapping[int, JSONDict]) -> FormattedText:
    size = len(text)

    def at(index: int) -> str:
        return text[index] if index < size else _END

    result: list[str] = []
    entities: list[JSONDict] = []
    utf16_offset = 0
    i = 0
    while i < size:
        char = text[i]
        if char == "\\" and at(i + 1) in "_*`[":
            result.append(text[i + 1])
            utf16_offset += 1
            i += 2
            continue
        if char not in "_*`[":
            result.append(char)
            utf16_offset += _char_units(char)
            i += 1
            continue

        begin = i
        end_char = "]" if char == "[" else char
        is_pre = False
        language = ""
        i += 1
        if char == "`" and text[i : i + 2] == "``":
            i += 2
            is_pre = True
            language_end = i
            while at(language_end) not in _SPACES and at(language_end) != "`":
                language_end += 1
            if i != language_end and language_end < size and at(language_end) != "`":
                language = text[i:language_end]
                i = language_end
            if at(i) in "\r\n":
                if at(i + 1) in "\r\n" and at(i) != at(i + 1):
                    i += 2
                else:
                    i += 1

        entity_offset = utf16_offset
        while i < size and (text[i] != end_char or (is_pre and text[i + 1 : i + 3] != "``")):
            result.append(text[i])
            utf16_offset += _char_units(text[i])
            i += 1
        if i == size:
            raise MarkupError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if entity_offset != utf16_offset:
            length = utf16_offset - entity_offset
            if char == "_":
                entities.append({"type": "italic", "offset": entity_offset, "length": length})
            elif char == "*":
                entities.append({"type": "bold", "offset": entity_offset, "length": length})
            elif char == "[":
                if at(i + 1) != "(":
                    url = text[begin + 1 : i]
                else:
                    i += 2
                    url_begin = i
                    while i < size and text[i] != ")":
                        i += 1
                    url = text[url_begin:i]
                link = _link_entity(url, entity_offset, length, known_users)
                if link is not None:
                    entities.append(link)
            elif is_pre:
                pre: JSONDict = {"type": "pre", "offset": entity_offset, "length": length}
                if language:
                    pre["language"] = language
                entities.append(pre)
            else:
                entities.append({"type": "code", "offset": entity_offset, "length": length})
        if is_pre:
            i += 2
        i += 1
    return FormattedText("".join(result), _sorted_entities(entities))
