"""Unit tests of the parse-mode parsers (no server needed)."""

import pytest

from fake_telegram import MarkupError, parse_text
from fake_telegram.keyboards import KeyboardError, check_button_url, validate_reply_markup
from fake_telegram.markup import UnsupportedParseModeError, utf16_len


def test_utf16_len():
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2


def test_plain_text_is_trimmed_and_keeps_explicit_entities():
    parsed = parse_text("  hallo wereld \n", None, [{"type": "bold", "offset": 2, "length": 5}])
    assert parsed.text == "hallo wereld"
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": 5}]


def test_parse_mode_is_case_insensitive_and_none_means_plain():
    assert parse_text("<b>x</b>", "html").entities == [{"type": "bold", "offset": 0, "length": 1}]
    assert parse_text("<b>x</b>", "None").text == "<b>x</b>"
    with pytest.raises(UnsupportedParseModeError):
        parse_text("x", "rst")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("&lt;&gt;&amp;&quot;", '<>&"'),
        ("&#65;&#x42;", "AB"),
        ("a &gt; b", "a > b"),
        ("a > b", "a > b"),
        ("<B>hoofd</B>letters", "hoofdletters"),
        ("<a href='https://x.nl'>x</a>", "x"),
    ],
)
def test_html_text(html: str, text: str):
    assert parse_text(html, "HTML").text == text


@pytest.mark.parametrize(
    "html",
    ["a & b", "&nbsp;", "<br>", "<b>x</b></b>", "<i>x", "<a href=x>y", "<span class='x'>y</span>"],
)
def test_html_errors(html: str):
    with pytest.raises(MarkupError):
        parse_text(html, "HTML")


def test_html_links_and_mentions():
    parsed = parse_text(
        '<a href="tg://user?id=42">Anna</a> <a href="example.org">site</a> <a href="">leeg</a>',
        "HTML",
        known_users={42: {"id": 42, "is_bot": False, "first_name": "Anna"}},
    )
    assert parsed.text == "Anna site leeg"
    mention, link = parsed.entities
    assert mention["type"] == "text_mention"
    assert mention["user"]["first_name"] == "Anna"
    assert link == {"type": "text_link", "offset": 5, "length": 4, "url": "http://example.org"}


def test_nested_html_entities():
    parsed = parse_text("<b>vet <i>en schuin</i></b>", "HTML")
    assert parsed.entities == [
        {"type": "bold", "offset": 0, "length": 13},
        {"type": "italic", "offset": 4, "length": 9},
    ]


def test_markdown_v2_escapes_everything_reserved():
    reserved = "_*[]()~`>#+-=|{}.!"
    escaped = "".join("\\" + char for char in reserved)
    assert parse_text(escaped, "MarkdownV2").text == reserved
    for char in reserved:
        with pytest.raises(MarkupError):
            parse_text(f"a {char} b", "MarkdownV2")


def test_markdown_v2_code_only_reserves_backticks():
    parsed = parse_text("`a.b-c(d)`", "MarkdownV2")
    assert parsed.text == "a.b-c(d)"
    assert parsed.entities == [{"type": "code", "offset": 0, "length": 8}]


def test_markdown_v2_blockquote():
    parsed = parse_text(">regel een\n>regel twee\nerna", "MarkdownV2")
    assert parsed.text == "regel een\nregel twee\nerna"
    assert parsed.entities == [{"type": "blockquote", "offset": 0, "length": 20}]


def test_legacy_markdown():
    parsed = parse_text("*vet* _schuin_ `code` [link](https://x.nl) a.b-c!", "Markdown")
    assert parsed.text == "vet schuin code link a.b-c!"
    assert [e["type"] for e in parsed.entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(MarkupError, match="Can't find end of the entity"):
        parse_text("*vet", "Markdown")


def test_keyboard_validation():
    assert validate_reply_markup({"inline_keyboard": [[]]}) is None
    assert validate_reply_markup({"remove_keyboard": True}) == {"remove_keyboard": True}
    with pytest.raises(KeyboardError, match="can't parse reply keyboard markup"):
        validate_reply_markup({"something": 1})
    with pytest.raises(KeyboardError, match="must be of type String"):
        validate_reply_markup({"inline_keyboard": [[{"callback_data": "x"}]]})
    with pytest.raises(KeyboardError, match="must be of type String"):
        validate_reply_markup({"keyboard": [[{"text": ""}]]})
    check_button_url("https://t.me/wijkbot")
    with pytest.raises(KeyboardError, match="Wrong port"):
        check_button_url("https://example.org:99999/")
