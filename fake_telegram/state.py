"""The in-memory model of the fake: users, chats, messages, updates, files and recordings.

:class:`State` holds everything the server knows and the helpers that turn it into Telegram
objects; the other modules add behaviour on top of it (``server.py`` shows how they combine).
Reading what the bot did (messages, calls, commands, files) is answered from here too.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .models import BotMessage, FakeUser, JSONDict, RecordedCall, StoredFile
from .params import int_or

_LOG = logging.getLogger(__name__)

_PHOTO_SIZES = (("s", 90), ("m", 320))
_LARGEST_PHOTO_SIZE = 800


@dataclass(slots=True)
class Fault:
    """An error answer queued by ``fail_next`` for one call of a method."""

    status: int
    description: str
    retry_after: int | None
    chat_id: int | None = None  # only calls for this chat, or any call when None


def scope_key(scope: JSONDict | None) -> str:
    """The key under which setMyCommands stores commands for a ``BotCommandScope``."""
    normalized = {
        key: int_or(value, value) if key in ("chat_id", "user_id") else value
        for key, value in (scope or {"type": "default"}).items()
        if value is not None
    }
    return json.dumps(normalized, sort_keys=True)


class State:
    """Everything the fake Telegram server holds, kept in memory on one event loop."""

    def __init__(
        self,
        *,
        token: str,
        bot_id: int,
        bot_username: str,
        bot_first_name: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.clock = clock
        """Seconds since the epoch for the ``date`` of messages (a sandbox may move it)."""
        self.revision = 0
        """Goes up whenever a chat's messages or the bot's command menus change."""
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self._stopping = False

        self.calls: list[RecordedCall] = []
        """Every request the bot made, in the order the answers were sent."""
        self.callback_answers: list[JSONDict] = []
        """Parameters of every successful answerCallbackQuery."""
        self.errors: list[str] = []
        """Protocol problems (unknown methods, unexpected paths, server bugs)."""

        # Users, chats and messages.
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, JSONDict] = {}
        self._last_message_ids: dict[int, int] = {}
        self._messages: dict[int, dict[int, BotMessage]] = {}
        self._user_messages: dict[int, dict[int, JSONDict]] = {}
        # Updates and their delivery by getUpdates.
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._delivered: set[int] = set()
        self._poll_generation = 0
        self._callback_queries: dict[str, bool] = {}
        self._next_callback_id = 1
        # Files, by id, by alias (smaller photo sizes) and by download path.
        self._files: dict[str, StoredFile] = {}
        self._file_aliases: dict[str, str] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._next_file_number = 1
        # What the bot configured.
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, JSONDict] = {}
        # Injected faults (faults.py) and waiters (waiters.py).
        self._blocked: set[int] = set()
        self._faults: dict[str, deque[Fault]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._drops: dict[str, int] = {}
        self._returned_calls: set[int] = set()
        self._waiters: list[asyncio.Future[None]] = []

    # -----------------------------------------------------------------------------------------
    # Reading what the bot did

    def messages(self, chat_id: int) -> list[BotMessage]:
        """The bot's messages in a chat, oldest first, with edits applied and deletions left out.

        Returns snapshots: later edits do not change objects already handed out.
        """
        chat_messages = self._messages.get(chat_id, {})
        return [
            message.snapshot()
            for _, message in sorted(chat_messages.items())
            if not message.deleted
        ]

    def messages_since(self, chat_id: int, after_message_id: int) -> list[BotMessage]:
        """The bot's current messages in a chat with an id above ``after_message_id``."""
        return [m for m in self.messages(chat_id) if m.message_id > after_message_id]

    def last_message(self, chat_id: int) -> BotMessage | None:
        """The bot's newest message in a chat that still exists, or ``None``."""
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The reply keyboard the chat has now: the latest one the bot sent, unless a later
        message removed it (``remove_keyboard``), as Telegram keeps it per chat."""
        current: JSONDict | None = None
        for _, message in sorted(self._messages.get(chat_id, {}).items()):
            markup = message.reply_markup or {}
            if "keyboard" in markup:
                current = markup
            elif markup.get("remove_keyboard") is True:
                current = None
        return current

    def user_messages(self, chat_id: int) -> list[JSONDict]:
        """The messages users sent in a chat (as Telegram ``Message`` objects), oldest first."""
        return [copy.deepcopy(m) for _, m in sorted(self._user_messages.get(chat_id, {}).items())]

    def last_message_id(self, chat_id: int) -> int:
        """Id of :meth:`last_message`, ``0`` if none; use it as a mark for the wait helpers."""
        message = self.last_message(chat_id)
        return message.message_id if message else 0

    def calls_to(self, method: str) -> list[RecordedCall]:
        """The recorded calls of one method (name compared case-insensitively)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """``(command, description)`` pairs stored by setMyCommands for this scope/language."""
        return list(self._commands.get((scope_key(scope), language_code), []))

    def menu_for(self, chat_id: int, language_code: str = "") -> list[tuple[str, str]]:
        """The command menu a user sees in this private chat, resolved as Telegram does: the
        chat's own scope, then all private chats, then the default; at each scope the user's
        language first, then the list without a language."""
        scopes = (
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats"},
            {"type": "default"},
        )
        languages = (language_code, "") if language_code else ("",)
        for scope in scopes:
            for language in languages:
                found = self._commands.get((scope_key(scope), language))
                if found:
                    return list(found)
        return []

    def menu_button(self, chat_id: int | None = None) -> JSONDict:
        """The menu button set by setChatMenuButton for a chat (``None``: the default)."""
        return copy.deepcopy(self._menu_buttons.get(chat_id, {"type": "default"}))

    def file(self, file_id: str) -> StoredFile:
        """A stored file by id (bot uploads and files sent by fake users)."""
        stored = self._find_file(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored

    def assert_no_errors(self) -> None:
        """Fail if any protocol problem was recorded in :attr:`errors`."""
        if self.errors:
            listed = "\n".join(f"  - {error}" for error in self.errors)
            raise AssertionError(f"fake Telegram recorded protocol errors:\n{listed}")

    def reset(self) -> None:
        """Forget calls, messages, updates, callback queries, errors, faults and blocks.

        Users, chats, files, commands and menu buttons stay, and ids keep counting up so that a
        bot that keeps polling across the reset is not confused.
        """
        self._touched()
        self.calls.clear()
        self.callback_answers.clear()
        self.errors.clear()
        self._messages.clear()
        self._user_messages.clear()
        self._updates.clear()
        self._delivered.clear()
        self._callback_queries.clear()
        self._faults.clear()
        self._delays.clear()
        self._drops.clear()
        self._blocked.clear()
        self._returned_calls.clear()

    # -----------------------------------------------------------------------------------------
    # Users, chats and messages

    def _touched(self) -> None:
        """Count a change that a viewer of the chats would see (see :attr:`revision`)."""
        self.revision += 1

    def _now(self) -> int:
        """The ``date`` of a message created now."""
        return int(self.clock())

    def _protocol_error(self, message: str) -> None:
        """Log and record a protocol problem for :meth:`assert_no_errors`."""
        _LOG.error("fake Telegram: %s", message)
        self.errors.append(message)

    def _bot_user(self) -> JSONDict:
        """The bot as a Telegram ``User``."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _ensure_chat(self, user: FakeUser, chat_id: int | None) -> JSONDict:
        """The chat ``user`` writes in (private, or a group made up for ``chat_id``)."""
        self._users.setdefault(user.id, user)
        if chat_id is None or chat_id == user.id:
            chat = user.private_chat()
        elif chat_id in self._chats:
            return self._chats[chat_id]
        else:
            chat_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
            chat = {"id": chat_id, "type": chat_type, "title": f"Test group {chat_id}"}
        self._chats[int(chat["id"])] = chat
        return chat

    def _learn_from_update(self, update: JSONDict) -> None:
        """Remember the users, chats and user messages found in a pushed update."""
        for kind in ("message", "edited_message", "callback_query"):
            payload = update.get(kind)
            if not isinstance(payload, dict):
                continue
            sender = payload.get("from")
            if (
                isinstance(sender, dict)
                and isinstance(sender.get("id"), int)
                and sender["id"] not in self._users
            ):
                self._users[sender["id"]] = FakeUser(
                    id=sender["id"],
                    first_name=str(sender.get("first_name", "")),
                    last_name=sender.get("last_name"),
                    username=sender.get("username"),
                    language_code=sender.get("language_code"),
                    is_bot=bool(sender.get("is_bot", False)),
                )
            message = payload.get("message") if kind == "callback_query" else payload
            if not isinstance(message, dict):
                continue
            chat = message.get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                self._chats.setdefault(chat["id"], chat)
                message_id = message.get("message_id")
                if kind == "message" and isinstance(message_id, int):
                    last = self._last_message_ids.get(chat["id"], 0)
                    self._last_message_ids[chat["id"]] = max(last, message_id)
                    self._user_messages.setdefault(chat["id"], {})[message_id] = message
                    self._touched()

    def _user_message(self, user: FakeUser, chat_id: int | None, fields: JSONDict) -> JSONDict:
        """A new Telegram ``Message`` from ``user`` with ``fields`` as its content."""
        chat = self._ensure_chat(user, chat_id)
        return {
            "message_id": self._new_message_id(int(chat["id"])),
            "from": user.to_dict(),
            "chat": chat,
            "date": self._now(),
            **fields,
        }

    def _new_message_id(self, chat_id: int) -> int:
        """The next message id in a chat (users and the bot share one sequence per chat)."""
        message_id = self._last_message_ids.get(chat_id, 0) + 1
        self._last_message_ids[chat_id] = message_id
        return message_id

    def _alive_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        """The bot's message (the live object, not a snapshot), unless missing or deleted."""
        message = self._messages.get(chat_id, {}).get(message_id)
        return None if message is None or message.deleted else message

    def _store_bot_message(self, message: BotMessage) -> JSONDict:
        """Keep a message the bot sent and return it as a Telegram ``Message``."""
        self._messages.setdefault(message.chat_id, {})[message.message_id] = message
        self._touched()
        return self._message_dict(message)

    def _message_dict(self, message: BotMessage, *, with_reply: bool = True) -> JSONDict:
        """A bot message as the Telegram ``Message`` object the Bot API returns."""
        data: JSONDict = {
            "message_id": message.message_id,
            "from": self._bot_user(),
            "chat": self._chats[message.chat_id],
            "date": message.date,
        }
        media = message.document is not None or message.photo is not None
        if message.document is not None:
            data["document"] = self._document_dict(message.document)
        if message.photo is not None:
            data["photo"] = self._photo_sizes(message.photo)
        if media:
            if message.text:
                data["caption"] = message.text
                if message.entities:
                    data["caption_entities"] = copy.deepcopy(message.entities)
        else:
            data["text"] = message.text
            if message.entities:
                data["entities"] = copy.deepcopy(message.entities)
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.has_inline_keyboard:
            # Telegram only reports inline keyboards back; reply keyboards belong to the chat.
            data["reply_markup"] = copy.deepcopy(message.reply_markup)
        if with_reply and message.reply_to_message_id is not None:
            replied = self._alive_message(message.chat_id, message.reply_to_message_id)
            if replied is not None:
                data["reply_to_message"] = self._message_dict(replied, with_reply=False)
            elif message.reply_to_message_id in self._user_messages.get(message.chat_id, {}):
                data["reply_to_message"] = self._user_messages[message.chat_id][
                    message.reply_to_message_id
                ]
        return data

    # -----------------------------------------------------------------------------------------
    # Files

    def _store_file(
        self, content: bytes, *, folder: str, filename: str | None, mime_type: str | None
    ) -> StoredFile:
        """Keep a file under new ids and a download path in ``folder``."""
        number = self._next_file_number
        self._next_file_number += 1
        extension = ""
        if filename and "." in filename:
            extension = filename.rsplit(".", 1)[1]
        elif folder == "photos":
            extension = "jpg"
        file_path = f"{folder}/file_{number}" + (f".{extension}" if extension else "")
        kind = "DOC" if folder == "documents" else "PHOTO"
        stored = StoredFile(
            file_id=f"FAKE-{kind}-{number:06d}-{self.bot_id}",
            file_unique_id=f"U{number:06d}",
            content=content,
            file_path=file_path,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[file_path] = stored
        return stored

    def _find_file(self, file_id: str) -> StoredFile | None:
        """A stored file by its id or by the id of one of its photo sizes."""
        return self._files.get(self._file_aliases.get(file_id, file_id))

    def _document_dict(self, stored: StoredFile) -> JSONDict:
        """A stored file as a Telegram ``Document``."""
        data: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if stored.filename is not None:
            data["file_name"] = stored.filename
        if stored.mime_type is not None:
            data["mime_type"] = stored.mime_type
        return data

    def _photo_sizes(self, stored: StoredFile) -> list[JSONDict]:
        """A stored photo as Telegram's list of ``PhotoSize`` objects, largest last."""
        sizes: list[JSONDict] = []
        for suffix, side in _PHOTO_SIZES:
            alias = f"{stored.file_id}-{suffix}"
            self._file_aliases[alias] = stored.file_id
            sizes.append(
                {
                    "file_id": alias,
                    "file_unique_id": f"{stored.file_unique_id}{suffix}",
                    "width": side,
                    "height": side,
                    "file_size": stored.size,
                }
            )
        sizes.append(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": _LARGEST_PHOTO_SIZE,
                "height": _LARGEST_PHOTO_SIZE,
                "file_size": stored.size,
            }
        )
        return sizes
