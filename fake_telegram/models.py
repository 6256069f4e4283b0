"""Plain data objects that the fake Telegram server records and hands to tests."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


@dataclass(slots=True)
class FakeUser:
    """A Telegram user that a test can act as.

    In private chats the chat id equals :attr:`id`.
    """

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "nl"
    is_bot: bool = False

    def to_dict(self) -> JSONDict:
        """Return the user as a Telegram ``User`` object (unset optional fields omitted)."""
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data

    def private_chat(self) -> JSONDict:
        """Return the Telegram ``Chat`` object of this user's private chat with the bot."""
        chat: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass(frozen=True, slots=True)
class Button:
    """One button of a keyboard as a user sees it.

    ``callback_data`` and ``url`` are ``None`` for buttons without that action; reply-keyboard
    buttons have neither.
    """

    text: str
    callback_data: str | None = None
    url: str | None = None
    raw: JSONDict = field(default_factory=dict, compare=False, repr=False)


@dataclass(slots=True)
class StoredFile:
    """A file known to the server: uploaded by the bot or sent by a fake user."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    filename: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        """Size of the content in bytes."""
        return len(self.content)

    def __repr__(self) -> str:
        # The content can be megabytes; keep failing-test output readable.
        return (
            f"StoredFile(file_id={self.file_id!r}, filename={self.filename!r}, "
            f"mime_type={self.mime_type!r}, size={self.size})"
        )


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request, as it appears in :attr:`RecordedCall.params`."""

    filename: str | None
    content: bytes
    content_type: str | None

    def __repr__(self) -> str:
        return (
            f"UploadedFile(filename={self.filename!r}, content_type={self.content_type!r}, "
            f"size={len(self.content)})"
        )


@dataclass(slots=True)
class BotMessage:
    """A message sent by the bot, in its current state.

    ``text`` holds what the user sees: the message text, or the caption of a document/photo,
    after parse-mode markup has been turned into ``entities``. ``source_text`` keeps the
    string the bot actually sent.
    """

    message_id: int
    chat_id: int
    text: str | None
    date: int
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    reply_markup: JSONDict | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    edited: bool = False
    edit_date: int | None = None
    reply_to_message_id: int | None = None
    source_text: str | None = None
    deleted: bool = field(default=False, repr=False)

    @property
    def buttons(self) -> list[list[Button]]:
        """Rows of buttons of the inline keyboard, or of the reply keyboard, if any."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        result: list[list[Button]] = []
        for row in rows:
            buttons: list[Button] = []
            for raw in row:
                if isinstance(raw, str):
                    # Reply keyboards may list plain strings instead of KeyboardButton objects.
                    buttons.append(Button(text=raw, raw={"text": raw}))
                else:
                    buttons.append(
                        Button(
                            text=str(raw.get("text", "")),
                            callback_data=raw.get("callback_data"),
                            url=raw.get("url"),
                            raw=dict(raw),
                        )
                    )
            result.append(buttons)
        return result

    @property
    def button_texts(self) -> list[str]:
        """Visible texts of all buttons, row by row."""
        return [button.text for row in self.buttons for button in row]

    @property
    def has_inline_keyboard(self) -> bool:
        """Whether the message currently carries an inline keyboard."""
        return bool(self.reply_markup and "inline_keyboard" in self.reply_markup)

    def snapshot(self) -> BotMessage:
        """Return an independent copy, so later edits do not change what a test holds."""
        return dataclasses.replace(
            self,
            entities=copy.deepcopy(self.entities),
            reply_markup=copy.deepcopy(self.reply_markup),
        )


@dataclass(slots=True)
class RecordedCall:
    """One request the bot made to the server.

    ``timestamp`` is the wall-clock arrival time (``time.time()``); ``duration`` is how long the
    server took to answer, including injected delays and long polling.
    """

    method: str
    params: JSONDict
    timestamp: float
    ok: bool = True
    status: int = 200
    error: str | None = None
    duration: float = 0.0
    result: Any = field(default=None, repr=False)
