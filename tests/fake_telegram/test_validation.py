"""Telegram's validation errors, as PTB raises them."""

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from fake_telegram import FakeTelegram

CHAT = 2002


@pytest.fixture
async def chat(tg: FakeTelegram) -> int:
    tg.push_text(tg.user(CHAT, "Chris"), "hoi")
    return CHAT


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


@pytest.mark.parametrize("text", ["", "   \n "])
async def test_empty_text(bot: Bot, chat: int, text: str):
    with pytest.raises(BadRequest, match=r"(?i)^message text is empty$"):
        await bot.send_message(chat, text)


async def test_markup_that_leaves_no_text_is_empty(bot: Bot, chat: int):
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(chat, "<b></b>", parse_mode=ParseMode.HTML)


async def test_text_length_counts_utf16_units_after_parsing(bot: Bot, chat: int, tg: FakeTelegram):
    await bot.send_message(chat, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)^message is too long$"):
        await bot.send_message(chat, "x" * 4097)
    # An emoji outside the BMP is two UTF-16 code units.
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(chat, "😀" * 2049)
    # Tags do not count.
    await bot.send_message(chat, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert len(tg.last_message(chat).text) == 4096


async def test_caption_length(bot: Bot, chat: int):
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(chat, b"data", filename="a.txt", caption="c" * 1025)


@pytest.mark.parametrize("data", ["x" * 65, "é" * 33, ""])
async def test_callback_data_must_be_1_to_64_bytes(bot: Bot, chat: int, data: str):
    with pytest.raises(BadRequest, match=r"(?i)^button_data_invalid$"):
        await bot.send_message(
            chat, "kies", reply_markup=keyboard(InlineKeyboardButton("A", callback_data=data))
        )


async def test_callback_data_of_64_bytes_is_fine(bot: Bot, chat: int, tg: FakeTelegram):
    sent = await bot.send_message(
        chat, "kies", reply_markup=keyboard(InlineKeyboardButton("A", callback_data="é" * 32))
    )
    stored = tg.last_message(chat)
    assert stored is not None and stored.message_id == sent.message_id
    assert stored.buttons[0][0].callback_data == "é" * 32


async def test_inline_button_needs_exactly_one_action(bot: Bot, chat: int):
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed in the inline keyboard"):
        await bot.send_message(chat, "kies", reply_markup=keyboard(InlineKeyboardButton("A")))
    both = InlineKeyboardButton("A", callback_data="a", url="https://example.org")
    with pytest.raises(BadRequest, match=r"(?i)exactly one of the optional fields"):
        await bot.send_message(chat, "kies", reply_markup=keyboard(both))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("example.org", "wrong http url"),
        ("http://localhost:8080/x", "wrong http url"),
        ("https://exa mple.org", "wrong http url"),
        ("ftp://example.org/file", "unsupported url protocol"),
        ("javascript:alert(1)", "wrong http url"),
    ],
)
async def test_url_buttons_need_a_valid_url(bot: Bot, chat: int, url: str, reason: str):
    with pytest.raises(BadRequest, match=f"(?i)inline keyboard button url .* is invalid: {reason}"):
        await bot.send_message(
            chat, "kies", reply_markup=keyboard(InlineKeyboardButton("Site", url=url))
        )


@pytest.mark.parametrize(
    "url", ["https://example.org/pad?x=1", "http://wijk.example.nl:8443/", "tg://resolve?domain=x"]
)
async def test_valid_url_buttons(bot: Bot, chat: int, url: str, tg: FakeTelegram):
    await bot.send_message(chat, "kies", reply_markup=keyboard(InlineKeyboardButton("S", url=url)))
    stored = tg.last_message(chat)
    assert stored is not None and stored.buttons[0][0].url == url


async def test_reply_keyboard_is_stored_and_pressed_as_text(bot: Bot, chat: int, tg: FakeTelegram):
    markup = ReplyKeyboardMarkup([[KeyboardButton("Ja"), KeyboardButton("Nee")]])
    sent = await bot.send_message(chat, "Doe je mee?", reply_markup=markup)
    # Telegram does not echo reply keyboards in the returned Message.
    assert sent.reply_markup is None
    stored = tg.last_message(chat)
    assert stored.button_texts == ["Ja", "Nee"]
    update_id = tg.press_button(tg.user(CHAT, "Chris"), stored, "Nee")
    (update,) = [u for u in await bot.get_updates() if u.update_id == update_id]
    assert update.message.text == "Nee"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a < b", 'unsupported start tag "" at byte offset 2'),
        ("Tom & Jerry", 'character "&" at byte offset 4'),
        ("<b>vet", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b>vet</i>", 'unmatched end tag at byte offset 6, expected "</b>", found "</i>"'),
        ("<h1>kop</h1>", 'unsupported start tag "h1" at byte offset 0'),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("x</b>", "unexpected end tag at byte offset 1"),
        ("<b", "unclosed start tag at byte offset 0"),
        ("é <u>", 'can\'t find end tag corresponding to start tag "u"'),
    ],
)
async def test_html_parse_errors(bot: Bot, chat: int, text: str, error: str):
    with pytest.raises(BadRequest) as raised:
        await bot.send_message(chat, text, parse_mode=ParseMode.HTML)
    # PTB capitalizes the description and lowercases the rest.
    assert raised.value.message.lower().startswith(f"can't parse entities: {error}".lower())


async def test_html_entities_and_tags(bot: Bot, chat: int, tg: FakeTelegram):
    html = (
        "<b>vet</b> <strong>sterk</strong> <i>schuin</i> <u>onder</u> <s>weg</s> "
        '<tg-spoiler>geheim</tg-spoiler> <a href="https://example.org/?a=1&amp;b=2">link</a> '
        '<code>x&lt;y</code> <pre><code class="language-python">print(1)</code></pre> '
        "<blockquote>citaat</blockquote> &quot;&amp;&gt;&#33;"
    )
    sent = await bot.send_message(chat, html, parse_mode=ParseMode.HTML)
    message = tg.last_message(chat)
    assert message.text == ('vet sterk schuin onder weg geheim link x<y print(1) citaat "&>!')
    assert sent.text == message.text
    types = [
        (e["type"], message.text[e["offset"] : e["offset"] + e["length"]]) for e in message.entities
    ]
    assert types == [
        ("bold", "vet"),
        ("bold", "sterk"),
        ("italic", "schuin"),
        ("underline", "onder"),
        ("strikethrough", "weg"),
        ("spoiler", "geheim"),
        ("text_link", "link"),
        ("code", "x<y"),
        ("pre", "print(1)"),
        ("blockquote", "citaat"),
    ]
    link = next(e for e in message.entities if e["type"] == "text_link")
    assert link["url"] == "https://example.org/?a=1&b=2"
    pre = next(e for e in message.entities if e["type"] == "pre")
    assert pre["language"] == "python"
    assert sent.parse_entities()  # PTB can use the offsets


async def test_entity_offsets_are_utf16(bot: Bot, chat: int, tg: FakeTelegram):
    sent = await bot.send_message(chat, "😀 <b>vet</b>", parse_mode=ParseMode.HTML)
    assert tg.last_message(chat).entities == [{"type": "bold", "offset": 3, "length": 3}]
    assert list(sent.parse_entities().values()) == ["vet"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Klaar.", "character '.' is reserved and must be escaped with the preceding '\\'"),
        ("1+1=2", "character '+' is reserved"),
        ("a-b", "character '-' is reserved"),
        ("(x)", "character '(' is reserved"),
        ("*vet", "can't find end of bold entity at byte offset 0"),
        ("_schuin", "can't find end of italic entity at byte offset 0"),
        ("[link](https://example.org", "can't find end of a url"),
    ],
)
async def test_markdown_v2_errors(bot: Bot, chat: int, text: str, error: str):
    with pytest.raises(BadRequest) as raised:
        await bot.send_message(chat, text, parse_mode=ParseMode.MARKDOWN_V2)
    message = raised.value.message.lower()
    assert message.startswith("can't parse entities: ")
    assert error.lower() in message


async def test_markdown_v2_text_and_entities(bot: Bot, chat: int, tg: FakeTelegram):
    text = (
        "*vet* _schuin_ __onder__ ~weg~ ||geheim|| `a.b` [link](https://example.org/a\\)b) "
        "Klaar\\! 1\\+1\\=2"
    )
    await bot.send_message(chat, text, parse_mode=ParseMode.MARKDOWN_V2)
    message = tg.last_message(chat)
    assert message.text == "vet schuin onder weg geheim a.b link Klaar! 1+1=2"
    assert [e["type"] for e in message.entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert message.entities[-1]["url"] == "https://example.org/a)b"


async def test_markdown_v2_pre_block(bot: Bot, chat: int, tg: FakeTelegram):
    await bot.send_message(chat, "```python\nx = 1 + 2.0\n```", parse_mode=ParseMode.MARKDOWN_V2)
    message = tg.last_message(chat)
    assert message.text == "x = 1 + 2.0"
    assert message.entities == [{"type": "pre", "offset": 0, "length": 11, "language": "python"}]


async def test_unsupported_parse_mode(bot: Bot, chat: int):
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(chat, "x", parse_mode="BBCode")


async def test_unknown_chat(bot: Bot, tg: FakeTelegram):
    with pytest.raises(BadRequest, match=r"(?i)^chat not found$"):
        await bot.send_message(424242, "hallo")
    with pytest.raises(BadRequest, match=r"(?i)^chat not found$"):
        await bot.send_message("@someone", "hallo")
    tg.open_chat(tg.user(424242))
    await bot.send_message(424242, "hallo")


async def test_edit_errors(bot: Bot, chat: int, tg: FakeTelegram):
    markup = keyboard(InlineKeyboardButton("A", callback_data="a"))
    sent = await bot.send_message(chat, "<b>tekst</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)^message to edit not found$"):
        await bot.edit_message_text("nieuw", chat_id=chat, message_id=sent.message_id + 100)
    not_modified = (
        "(?i)^message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message$"
    )
    with pytest.raises(BadRequest, match=not_modified):
        await bot.edit_message_text(
            "<b>tekst</b>",
            chat_id=chat,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )
    with pytest.raises(BadRequest, match=not_modified):
        await bot.edit_message_reply_markup(chat, sent.message_id, reply_markup=markup)
    # Same text but without the bold entity is a modification.
    await bot.edit_message_text(
        "tekst", chat_id=chat, message_id=sent.message_id, reply_markup=markup
    )
    await bot.edit_message_reply_markup(chat, sent.message_id, reply_markup=None)
    assert tg.last_message(chat).buttons == []
    with pytest.raises(BadRequest, match=not_modified):
        await bot.edit_message_reply_markup(chat, sent.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match=r"(?i)^message text is empty$"):
        await bot.edit_message_text("", chat_id=chat, message_id=sent.message_id)


async def test_edit_validates_like_send(bot: Bot, chat: int):
    sent = await bot.send_message(chat, "tekst")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.edit_message_text("a < b", chat, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.edit_message_text(
            "x",
            chat,
            sent.message_id,
            reply_markup=keyboard(InlineKeyboardButton("A", callback_data="x" * 65)),
        )


async def test_delete_message(bot: Bot, chat: int, tg: FakeTelegram):
    sent = await bot.send_message(chat, "weg ermee")
    assert await bot.delete_message(chat, sent.message_id)
    assert tg.messages(chat) == []
    with pytest.raises(BadRequest, match=r"(?i)^message to delete not found$"):
        await bot.delete_message(chat, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)^message to edit not found$"):
        await bot.edit_message_text("x", chat, sent.message_id)
    # The user's own message (id 1) can be deleted by the bot in a private chat.
    assert await bot.delete_message(chat, 1)


async def test_answer_callback_query_once(bot: Bot, chat: int, tg: FakeTelegram):
    sent = await bot.send_message(
        chat, "kies", reply_markup=keyboard(InlineKeyboardButton("A", callback_data="a"))
    )
    tg.press_button(tg.user(CHAT, "Chris"), sent.message_id, "A")
    query = next(u for u in await bot.get_updates() if u.callback_query).callback_query
    assert query.message.message_id == sent.message_id
    assert await query.answer("ok", show_alert=True)
    too_old = "(?i)^query is too old and response timeout expired or query id is invalid$"
    with pytest.raises(BadRequest, match=too_old):
        await query.answer()
    with pytest.raises(BadRequest, match=too_old):
        await bot.answer_callback_query("123")
    assert tg.callback_answers == [
        {
            "callback_query_id": query.id,
            "text": "ok",
            "show_alert": True,
            "url": None,
            "cache_time": None,
        }
    ]


async def test_reply_to_missing_message(bot: Bot, chat: int):
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(chat, "x", reply_to_message_id=999)
    reply = await bot.send_message(chat, "x", reply_to_message_id=1)
    assert reply.reply_to_message.text == "hoi"


async def test_send_chat_action(bot: Bot, chat: int):
    assert await bot.send_chat_action(chat, "typing")
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(chat, "dancing")
