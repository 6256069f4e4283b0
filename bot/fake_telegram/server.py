"""An in-process fake of the Telegram Bot API, served over real HTTP.

The real python-telegram-bot ``Bot``/``Application`` talks to it through ``base_url``, so the
whole network stack (encoding, error mapping, long polling) is exercised. Tests act as users by
pushing updates and inspect what the bot did through the recorded calls and the per-chat
message state.

Everything runs on one asyncio event loop and nothing here is thread-safe: call the push and
inspection methods from coroutines or callbacks on the loop that started the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import mimetypes
import re
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from .errors import ApiError, bad_request, default_description
from .keyboards import KeyboardError, validate_reply_markup
from .markup import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    FormattedText,
    MarkupError,
    UnsupportedParseModeError,
    parse_text,
    utf16_len,
)
from .models import BotMessage, FakeUser, JSONDict, RecordedCall, StoredFile, UploadedFile
from .params import MAX_UPLOAD_BYTES, read_params

_LOG = logging.getLogger(__name__)

_T = TypeVar("_T")

Handler = Callable[[JSONDict, web.Request], Awaitable[Any]]

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_BOT_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_BLOCKED = "Forbidden: bot was blocked by the user"
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
# Not a decodable image: the fake never looks at pixels, it only needs recognisable bytes.
_PLACEHOLDER_JPEG = b"\xff\xd8\xff\xe0fake-telegram-photo\xff\xd9"
_PHOTO_SIZES = (("s", 90), ("m", 320))
_LARGEST_PHOTO_SIZE = 800


class WaitTimeout(AssertionError):
    """Raised by the ``wait_*`` helpers when the awaited event did not happen in time."""


@dataclass(slots=True)
class _Fault:
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None = None  # only calls for this chat, or any call when None


class FakeTelegram:
    """A fake Telegram Bot API server for tests, benchmarks and fault injection.

    Start it with ``await tg.start()`` (or ``async with FakeTelegram() as tg``) and point the
    bot at :attr:`base_url` and :attr:`base_file_url`.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "wijkbot_test_bot",
        bot_first_name: str = "Wijkbot",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.host = host
        self.port = port
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self._stopping = False

        self.calls: list[RecordedCall] = []
        """Every request the bot made, in the order the answers were sent."""
        self.callback_answers: list[JSONDict] = []
        """Parameters of every successful answerCallbackQuery."""
        self.errors: list[str] = []
        """Protocol problems (unknown methods, unexpected paths, server bugs)."""

        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, JSONDict] = {}
        self._last_message_ids: dict[int, int] = {}
        self._messages: dict[int, dict[int, BotMessage]] = {}
        self._user_messages: dict[int, dict[int, JSONDict]] = {}
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._delivered: set[int] = set()
        self._poll_generation = 0
        self._callback_queries: dict[str, bool] = {}
        self._next_callback_id = 1
        self._files: dict[str, StoredFile] = {}
        self._file_aliases: dict[str, str] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._next_file_number = 1
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, JSONDict] = {}
        self._blocked: set[int] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._drops: dict[str, int] = {}
        self._returned_calls: set[int] = set()
        self._waiters: list[asyncio.Future[None]] = []

        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setWebhook": self._set_webhook,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setMyDescription": self._set_bot_text("description"),
                "getMyDescription": self._get_bot_text("description"),
                "setMyShortDescription": self._set_bot_text("short_description"),
                "getMyShortDescription": self._get_bot_text("short_description"),
                "setMyName": self._set_bot_text("name"),
                "getMyName": self._get_bot_text("name"),
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "getFile": self._get_file,
                "sendChatAction": self._send_chat_action,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "getChat": self._get_chat,
            }.items()
        }

    # -----------------------------------------------------------------------------------------
    # Lifecycle

    async def start(self) -> None:
        """Start serving on :attr:`host`; with ``port=0`` the OS picks a free port.

        After :meth:`stop`, ``start()`` binds the same port again and keeps all state, so a bot
        that keeps running sees a Telegram outage and reconnects afterwards.
        """
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self._requested_port or self.port), family=family)
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unexpected)
        # Long polls are released by stop(), so a short shutdown timeout only cuts off requests
        # that are stuck for another reason.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._stopping = False
        self.port = sock.getsockname()[1]
        self._runner = runner
        _LOG.debug("fake Telegram listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Release waiting long polls and delays, then shut the server down."""
        self._stopping = True
        self._notify()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL of the running server, e.g. ``http://127.0.0.1:54321``."""
        if self._runner is None:
            raise RuntimeError("FakeTelegram is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url()``; PTB appends the token and method."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url()``."""
        return f"{self.url}/file/bot"

    # -----------------------------------------------------------------------------------------
    # Acting as users

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "nl",
    ) -> FakeUser:
        """Create (or redefine) a user the test can act as."""
        user = FakeUser(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[user_id] = user
        return user

    def open_chat(self, user: FakeUser, *, chat_id: int | None = None) -> int:
        """Make the server know a chat without sending an update, as if it existed before.

        Returns the chat id. Useful when the bot must message a user who has not written yet
        in this test (normally any ``push_*`` does this).
        """
        return int(self._ensure_chat(user, chat_id)["id"])

    def push_text(self, user: FakeUser, text: str, *, chat_id: int | None = None) -> int:
        """Let ``user`` send ``text``; returns the update id.

        A leading ``/command`` (also ``/command@botname``) gets a ``bot_command`` entity.
        """
        message = self._user_message(user, chat_id, {"text": text})
        match = _COMMAND.match(text)
        if match:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
            ]
        return self.push_update({"message": message})

    def push_edit(
        self, user: FakeUser, message_id: int | None, text: str, *, chat_id: int | None = None
    ) -> int:
        """Let ``user`` edit their message ``message_id`` to ``text``; returns the update id.

        Telegram sends an ``edited_message`` update with the same message id, the original
        ``date`` and an ``edit_date``. The message must be one the user sent; ``None`` means
        their latest message in the chat.
        """
        target_chat = user.id if chat_id is None else chat_id
        sent = self._user_messages.get(target_chat, {})
        if message_id is None:
            mine = [i for i, m in sent.items() if m.get("from", {}).get("id") == user.id]
            message_id = max(mine, default=0)
        original = sent.get(message_id)
        if original is None or original.get("from", {}).get("id") != user.id:
            raise AssertionError(f"user {user.id} sent no message {message_id} in {target_chat}")
        edited: JSONDict = {**original, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        match = _COMMAND.match(text)
        if match:
            edited["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
            ]
        self._user_messages[target_chat][message_id] = edited
        return self.push_update({"edited_message": edited})

    def push_callback(
        self,
        user: FakeUser,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        force: bool = False,
    ) -> int:
        """Press the inline button with ``callback_data == data`` on a bot message.

        Raises ``AssertionError`` if the message does not exist or its current keyboard has no
        such button, unless ``force=True`` (to test forged or stale callback data).
        """
        target_chat = user.id if chat_id is None else chat_id
        message = self._alive_message(target_chat, message_id)
        if not force:
            if message is None:
                raise AssertionError(
                    f"chat {target_chat} has no bot message {message_id} to press a button on"
                )
            available = [
                button.callback_data
                for row in message.buttons
                for button in row
                if message.has_inline_keyboard and button.callback_data is not None
            ]
            if data not in available:
                raise AssertionError(
                    f"message {message_id} in chat {target_chat} has no inline button with "
                    f"callback_data {data!r}; current callback data: {available}"
                )
        chat = self._ensure_chat(user, chat_id)
        query_id = f"{self.bot_id}{self._next_callback_id:08d}"
        self._next_callback_id += 1
        self._callback_queries[query_id] = False
        shown: JSONDict
        if message is not None:
            shown = self._message_dict(message)
        else:
            # What Telegram sends for a message the bot can no longer access.
            shown = {"chat": chat, "message_id": message_id, "date": 0}
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_dict(),
                    "message": shown,
                    "chat_instance": str(abs(target_chat) * 7919 + self.bot_id),
                    "data": data,
                }
            }
        )

    def press_button(self, user: FakeUser, message: BotMessage | int, text: str) -> int:
        """Press the button whose visible text is ``text`` (exact, else a unique substring).

        ``message`` is a :class:`BotMessage` or a message id in the user's private chat; its
        current keyboard is used. Inline buttons send a callback query; reply-keyboard buttons
        send their text as a message.
        """
        if isinstance(message, BotMessage):
            chat_id, message_id = message.chat_id, message.message_id
        else:
            chat_id, message_id = user.id, message
        current = self._alive_message(chat_id, message_id)
        if current is None:
            raise AssertionError(f"chat {chat_id} has no bot message {message_id}")
        buttons = [button for row in current.buttons for button in row]
        matches = [button for button in buttons if button.text == text] or [
            button for button in buttons if text in button.text
        ]
        if len(matches) != 1:
            what = "no button" if not matches else f"{len(matches)} buttons"
            raise AssertionError(
                f"{what} matching {text!r} on message {message_id} in chat {chat_id}; "
                f"buttons: {[button.text for button in buttons]}"
            )
        button = matches[0]
        if current.has_inline_keyboard:
            if button.callback_data is None:
                raise AssertionError(f"button {button.text!r} has no callback_data: {button.raw}")
            return self.push_callback(user, message_id, button.callback_data, chat_id=chat_id)
        if button.raw.get("request_location"):
            raise AssertionError("this button shares a location; use push_location()")
        return self.push_text(user, button.text, chat_id=chat_id)

    def push_location(
        self, user: FakeUser, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> int:
        """Let ``user`` share a location; returns the update id."""
        location = {"latitude": latitude, "longitude": longitude}
        return self.push_update(
            {"message": self._user_message(user, chat_id, {"location": location})}
        )

    def push_photo(
        self,
        user: FakeUser,
        *,
        caption: str | None = None,
        content: bytes | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Let ``user`` send a photo; returns the update id.

        The photo gets generated ``file_id``/``file_unique_id`` values and several sizes; its
        bytes (``content`` or a placeholder) can be fetched with getFile.
        """
        stored = self._store_file(
            content if content is not None else _PLACEHOLDER_JPEG,
            folder="photos",
            filename=None,
            mime_type="image/jpeg",
        )
        fields: JSONDict = {"photo": self._photo_sizes(stored)}
        if caption is not None:
            fields["caption"] = caption
        return self.push_update({"message": self._user_message(user, chat_id, fields)})

    def photo_file_id(self, content: bytes | None = None) -> str:
        """A photo stored as if a user had sent it earlier; returns its largest size's file_id.

        For tests that need a file id the bot may send (``sendPhoto`` with an existing file)
        without going through a conversation first.
        """
        stored = self._store_file(
            content if content is not None else _PLACEHOLDER_JPEG,
            folder="photos",
            filename=None,
            mime_type="image/jpeg",
        )
        return str(self._photo_sizes(stored)[-1]["file_id"])

    def push_document(
        self,
        user: FakeUser,
        content: bytes,
        *,
        filename: str = "document.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Let ``user`` send a file; returns the update id."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._store_file(content, folder="documents", filename=filename, mime_type=mime)
        fields: JSONDict = {"document": self._document_dict(stored)}
        if caption is not None:
            fields["caption"] = caption
        return self.push_update({"message": self._user_message(user, chat_id, fields)})

    def push_update(self, update: JSONDict) -> int:
        """Queue a raw update (assigning ``update_id`` if missing); returns the update id.

        Users and chats found in the update become known to the server.
        """
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        update_id = int(update["update_id"])
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._learn_from_update(update)
        self._updates.append(update)
        self._notify()
        return update_id

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

    def last_message_id(self, chat_id: int) -> int:
        """Id of :meth:`last_message`, ``0`` if none; use it as a mark for the wait helpers."""
        message = self.last_message(chat_id)
        return message.message_id if message else 0

    def calls_to(self, method: str) -> list[RecordedCall]:
        """The recorded calls of one method (name compared case-insensitively)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    # The wait helpers take ``timeout`` (ASYNC109) because a failing test should say what it
    # waited for, which a bare asyncio.timeout() around the call cannot.
    async def wait_for_message(
        self,
        chat_id: int,
        *,
        after_message_id: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> BotMessage:
        """Wait for the first bot message in ``chat_id`` with an id above ``after_message_id``."""

        def find() -> BotMessage | None:
            found = self.messages_since(chat_id, after_message_id)
            return found[0] if found else None

        return await self._wait_for(
            find, timeout, f"a bot message in chat {chat_id} after id {after_message_id}"
        )

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int = 0,
    ) -> RecordedCall:
        """Wait for a call of ``method`` (and matching ``predicate``) and return it.

        Each recorded call is returned at most once by this helper: consecutive waits for the
        same method return consecutive calls. ``since`` skips the first ``since`` entries of
        :attr:`calls` (``len(tg.calls)`` is a handy mark).
        """
        wanted = method.lower()

        def find() -> RecordedCall | None:
            for index in range(since, len(self.calls)):
                call = self.calls[index]
                if index in self._returned_calls or call.method.lower() != wanted:
                    continue
                if predicate is None or predicate(call):
                    self._returned_calls.add(index)
                    return call
            return None

        return await self._wait_for(find, timeout, f"a {method} call")

    async def wait_delivered(self, update_id: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates answer has contained the update."""
        await self._wait_for(
            lambda: True if update_id in self._delivered else None,
            timeout,
            f"delivery of update {update_id}",
        )

    def commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """``(command, description)`` pairs stored by setMyCommands for this scope/language."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

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

    # -----------------------------------------------------------------------------------------
    # Fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error instead of handling them.

        A 429 carries ``parameters.retry_after`` (default 1) like Telegram's flood control, so
        PTB raises ``RetryAfter``. With ``chat_id``, only calls for that chat fail (one
        recipient's trouble while others are served).
        """
        key = self._known_method(method)
        if times < 1:
            raise ValueError("times must be at least 1")
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        fault = _Fault(
            status=status,
            description=description or default_description(status, retry_after),
            retry_after=retry_after,
            chat_id=chat_id,
        )
        self._faults.setdefault(key, deque()).extend([fault] * times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before answering."""
        key = self._known_method(method)
        if times < 1:
            raise ValueError("times must be at least 1")
        self._delays.setdefault(key, deque()).extend([seconds] * times)

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Handle the next ``times`` calls of ``method`` fully, then drop the connection.

        The call takes effect (a message is stored and seen by the user) but the client never
        gets an answer: the connection is closed where the answer would be. That is the
        uncertain case of a real network: PTB raises ``NetworkError`` (httpx's
        ``RemoteProtocolError``) although the message was delivered. Combines with
        ``delay_next``; a ``fail_next`` fault is answered (as an error) instead.
        """
        key = self._known_method(method)
        if times < 1:
            raise ValueError("times must be at least 1")
        self._drops[key] = self._drops.get(key, 0) + times

    def block_user(self, user_id: int) -> None:
        """Act as if the user blocked the bot: calls for that chat get 403 Forbidden."""
        self._blocked.add(user_id)
        user = self._users.get(user_id) or self.user(user_id)
        self._ensure_chat(user, None)

    def unblock_user(self, user_id: int) -> None:
        """Undo :meth:`block_user`."""
        self._blocked.discard(user_id)

    def reset(self) -> None:
        """Forget calls, messages, updates, callback queries, errors, faults and blocks.

        Users, chats, files, commands and menu buttons stay, and ids keep counting up so that a
        bot that keeps polling across the reset is not confused.
        """
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
    # HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        started = time.time()
        loop_started = asyncio.get_running_loop().time()
        requested = request.match_info["method"]
        entry = self._methods.get(requested.lower())
        method = entry[0] if entry else requested
        params: JSONDict = {}
        result: Any = None
        try:
            params_error: ApiError | None = None
            try:
                params = await read_params(request)
            except ApiError as error:
                params_error = error
            # Token and method errors take precedence over malformed parameters.
            if request.match_info["token"] != self.token:
                raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            if entry is None:
                self._protocol_error(f"unknown Bot API method {requested!r}")
                raise ApiError(HTTPStatus.NOT_FOUND, "Not Found")
            if params_error is not None:
                raise params_error
            delays = self._delays.get(method.lower())
            if delays:
                await self._sleep(delays.popleft())
            fault = self._take_fault(method, params)
            if fault is not None:
                parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                raise ApiError(fault.status, fault.description, parameters)
            result = await entry[1](params, request)
        except ApiError as error:
            status, body = int(error.status), error.to_json()
        except Exception as error:
            _LOG.exception("fake Telegram failed while handling %s", method)
            self.errors.append(f"{method}: internal error in the fake server: {error!r}")
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            body = ApiError(status, "Internal Server Error").to_json()
        else:
            status, body = HTTPStatus.OK, {"ok": True, "result": result}
        self.calls.append(
            RecordedCall(
                method=method,
                params=params,
                timestamp=started,
                ok=body["ok"],
                status=status,
                error=None if body["ok"] else body["description"],
                duration=asyncio.get_running_loop().time() - loop_started,
                result=result,
            )
        )
        self._notify()
        if body["ok"] and self._drops.get(method.lower(), 0) > 0:
            self._drops[method.lower()] -= 1
            # The work is done; the answer is lost on the way back.
            if request.transport is not None:
                request.transport.abort()
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized").to_json(), status=401
            )
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(
                ApiError(HTTPStatus.NOT_FOUND, "Not Found").to_json(), status=404
            )
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_unexpected(self, request: web.Request) -> web.Response:
        self._protocol_error(f"request to unexpected path {request.method} {request.path}")
        return web.json_response(ApiError(HTTPStatus.NOT_FOUND, "Not Found").to_json(), status=404)

    def _take_fault(self, method: str, params: JSONDict) -> _Fault | None:
        faults = self._faults.get(method.lower())
        if not faults:
            return None
        chat = _int_or(params.get("chat_id"), None)
        for fault in faults:
            if fault.chat_id is None or fault.chat_id == chat:
                faults.remove(fault)
                return fault
        return None

    def _protocol_error(self, message: str) -> None:
        _LOG.error("fake Telegram: %s", message)
        self.errors.append(message)

    def _known_method(self, method: str) -> str:
        if method.lower() not in self._methods:
            raise ValueError(f"the fake Telegram server does not implement {method!r}")
        return method.lower()

    # -----------------------------------------------------------------------------------------
    # Waiting

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _changed(self, seconds: float) -> None:
        """Sleep until the state changes (a request, a push, stop) or ``seconds`` pass."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter, seconds)

    async def _wait_for(self, find: Callable[[], _T | None], seconds: float, what: str) -> _T:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            found = find()
            if found is not None:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise WaitTimeout(f"timed out after {seconds}s waiting for {what}{self._summary()}")
            await self._changed(remaining)

    async def _sleep(self, seconds: float) -> None:
        # A held call goes on when its client gives up waiting (aiohttp does not cancel a
        # handler whose connection closed), so a slow answer still delivers, as on Telegram.
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._stopping:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await self._changed(remaining)

    def _summary(self) -> str:
        recent = [
            f"{call.method}({'ok' if call.ok else call.error})"
            for call in self.calls[-8:]
            if call.method != "getUpdates"
        ]
        lines = [f"\n  recent calls: {recent}"]
        if self.errors:
            lines.append(f"\n  protocol errors: {self.errors}")
        return "".join(lines)

    # -----------------------------------------------------------------------------------------
    # Shared helpers

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _ensure_chat(self, user: FakeUser, chat_id: int | None) -> JSONDict:
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
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                self._chats.setdefault(chat["id"], chat)
                message_id = message.get("message_id") if isinstance(message, dict) else None
                if kind == "message" and isinstance(message_id, int):
                    last = self._last_message_ids.get(chat["id"], 0)
                    self._last_message_ids[chat["id"]] = max(last, message_id)
                    self._user_messages.setdefault(chat["id"], {})[message_id] = message

    def _user_message(self, user: FakeUser, chat_id: int | None, fields: JSONDict) -> JSONDict:
        chat = self._ensure_chat(user, chat_id)
        return {
            "message_id": self._new_message_id(int(chat["id"])),
            "from": user.to_dict(),
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._last_message_ids.get(chat_id, 0) + 1
        self._last_message_ids[chat_id] = message_id
        return message_id

    def _alive_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        message = self._messages.get(chat_id, {}).get(message_id)
        return None if message is None or message.deleted else message

    def _chat_id(self, params: JSONDict) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int) or raw not in self._chats:
            raise bad_request("chat not found")
        return raw

    def _writable_chat(self, params: JSONDict) -> int:
        chat_id = self._chat_id(params)
        if chat_id in self._blocked:
            raise ApiError(HTTPStatus.FORBIDDEN, _BLOCKED)
        return chat_id

    @staticmethod
    def _message_id(params: JSONDict) -> int:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake Telegram server")
        raw = params.get("message_id")
        if raw is None or raw == "":
            raise bad_request("message identifier is not specified")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise bad_request("MESSAGE_ID_INVALID")
        return raw

    def _format(
        self, text: Any, parse_mode: Any, entities: Any, *, caption: bool = False
    ) -> FormattedText:
        if text is None:
            return FormattedText("")
        known = {user_id: user.to_dict() for user_id, user in self._users.items()}
        try:
            formatted = parse_text(
                str(text),
                None if parse_mode is None else str(parse_mode),
                entities,
                known_users=known,
            )
        except UnsupportedParseModeError as error:
            raise bad_request("unsupported parse_mode") from error
        except MarkupError as error:
            raise bad_request(f"can't parse entities: {error}") from error
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if formatted.length > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return formatted

    def _message_text(self, params: JSONDict) -> FormattedText:
        text = params.get("text")
        if text is None or text == "":
            raise bad_request("message text is empty")
        formatted = self._format(text, params.get("parse_mode"), params.get("entities"))
        if not formatted.text:
            raise bad_request("message text is empty")
        return formatted

    @staticmethod
    def _reply_markup(params: JSONDict, *, inline_only: bool = False) -> JSONDict | None:
        raw = params.get("reply_markup")
        if raw in (None, ""):
            return None
        if inline_only and not (isinstance(raw, dict) and "inline_keyboard" in raw):
            raise bad_request("can't parse inline keyboard markup JSON object")
        try:
            return validate_reply_markup(raw)
        except KeyboardError as error:
            raise bad_request(str(error)) from error

    def _reply_to(self, chat_id: int, params: JSONDict) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get("reply_to_message_id")
            allow_missing = bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        exists = isinstance(message_id, int) and (
            self._alive_message(chat_id, message_id) is not None
            or message_id in self._user_messages.get(chat_id, {})
        )
        if exists:
            return int(message_id)
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")

    def _store_bot_message(self, message: BotMessage) -> JSONDict:
        self._messages.setdefault(message.chat_id, {})[message.message_id] = message
        return self._message_dict(message)

    def _message_dict(self, message: BotMessage, *, with_reply: bool = True) -> JSONDict:
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
        return self._files.get(self._file_aliases.get(file_id, file_id))

    def _document_dict(self, stored: StoredFile) -> JSONDict:
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

    def _input_file(
        self, params: JSONDict, name: str, *, folder: str, default_mime: str
    ) -> StoredFile:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            if not value.content:
                raise bad_request("file must be non-empty")
            filename = value.filename if folder == "documents" else None
            mime = value.content_type
            if folder == "photos" or not mime or mime == "application/octet-stream":
                guessed = mimetypes.guess_type(value.filename or "")[0]
                mime = guessed if folder == "documents" and guessed else default_mime
            return self._store_file(value.content, folder=folder, filename=filename, mime_type=mime)
        if isinstance(value, str) and value:
            if value.startswith(("http://", "https://")):
                raise bad_request("failed to get HTTP URL content")
            stored = self._find_file(value)
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            return stored
        raise bad_request(f"there is no {name} in the request")

    # -----------------------------------------------------------------------------------------
    # Bot API methods

    async def _get_me(self, params: JSONDict, request: web.Request) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict, request: web.Request) -> list[JSONDict]:
        offset = _int_or(params.get("offset"), 0)
        limit = min(max(_int_or(params.get("limit"), 100), 1), 100)
        timeout = params.get("timeout") or 0
        timeout = max(float(timeout), 0.0) if isinstance(timeout, int | float) else 0.0
        # A newer getUpdates ends an older one that is still waiting, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._updates and not self._stopping:
            if _client_gone(request):
                # The client gave up on this poll (e.g. PTB cancelled it while stopping):
                # answering it would mark updates delivered that nobody received.
                return []
            if self._poll_generation != generation:
                raise ApiError(HTTPStatus.CONFLICT, _CONFLICT)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await self._changed(remaining)
        if _client_gone(request):
            return []
        batch = copy.deepcopy(self._updates[:limit])
        self._delivered.update(update["update_id"] for update in batch)
        return batch

    async def _delete_webhook(self, params: JSONDict, request: web.Request) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict, request: web.Request) -> JSONDict:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _set_webhook(self, params: JSONDict, request: web.Request) -> bool:
        self._protocol_error("setWebhook called; the fake Telegram server only supports polling")
        raise bad_request("webhooks are not supported by the fake Telegram server")

    async def _send_message(self, params: JSONDict, request: web.Request) -> JSONDict:
        chat_id = self._writable_chat(params)
        formatted = self._message_text(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat_id, params)
        message = BotMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            text=formatted.text,
            date=int(time.time()),
            parse_mode=params.get("parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            source_text=str(params["text"]),
        )
        return self._store_bot_message(message)

    def _message_to_edit(self, params: JSONDict) -> BotMessage:
        chat_id = self._writable_chat(params)
        message_id = self._message_id(params)
        message = self._alive_message(chat_id, message_id)
        if message is None:
            if message_id in self._user_messages.get(chat_id, {}):
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return message

    @staticmethod
    def _inline_markup(message: BotMessage) -> JSONDict | None:
        return message.reply_markup if message.has_inline_keyboard else None

    def _apply_edit(
        self,
        message: BotMessage,
        *,
        formatted: FormattedText,
        parse_mode: Any,
        source_text: str | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        if (
            formatted.text == (message.text or "")
            and formatted.entities == message.entities
            and markup == self._inline_markup(message)
        ):
            raise bad_request(_NOT_MODIFIED)
        message.text = formatted.text
        message.entities = formatted.entities
        message.parse_mode = parse_mode
        message.source_text = source_text
        if markup is not None or message.has_inline_keyboard:
            # Editing without reply_markup removes the inline keyboard, exactly as Telegram does.
            message.reply_markup = markup
        message.edited = True
        message.edit_date = int(time.time())
        return self._message_dict(message)

    async def _edit_message_text(self, params: JSONDict, request: web.Request) -> JSONDict:
        message = self._message_to_edit(params)
        if message.document is not None or message.photo is not None:
            raise bad_request("there is no text in the message to edit")
        formatted = self._message_text(params)
        markup = self._reply_markup(params, inline_only=True)
        return self._apply_edit(
            message,
            formatted=formatted,
            parse_mode=params.get("parse_mode"),
            source_text=str(params["text"]),
            markup=markup,
        )

    async def _edit_message_caption(self, params: JSONDict, request: web.Request) -> JSONDict:
        message = self._message_to_edit(params)
        if message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        caption = params.get("caption")
        formatted = self._format(
            caption, params.get("parse_mode"), params.get("caption_entities"), caption=True
        )
        markup = self._reply_markup(params, inline_only=True)
        return self._apply_edit(
            message,
            formatted=formatted,
            parse_mode=params.get("parse_mode"),
            source_text=None if caption is None else str(caption),
            markup=markup,
        )

    async def _edit_message_reply_markup(self, params: JSONDict, request: web.Request) -> JSONDict:
        message = self._message_to_edit(params)
        markup = self._reply_markup(params, inline_only=True)
        if markup == self._inline_markup(message):
            raise bad_request(_NOT_MODIFIED)
        message.reply_markup = markup
        message.edited = True
        message.edit_date = int(time.time())
        return self._message_dict(message)

    async def _delete_message(self, params: JSONDict, request: web.Request) -> bool:
        chat_id = self._chat_id(params)
        message_id = self._message_id(params)
        message = self._alive_message(chat_id, message_id)
        if message is not None:
            message.deleted = True
            return True
        if self._user_messages.get(chat_id, {}).pop(message_id, None) is not None:
            return True
        raise bad_request("message to delete not found")

    async def _answer_callback_query(self, params: JSONDict, request: web.Request) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if self._callback_queries.get(query_id, True):
            raise bad_request(_QUERY_INVALID)
        self._callback_queries[query_id] = True
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": params.get("text"),
                "show_alert": bool(params.get("show_alert", False)),
                "url": params.get("url"),
                "cache_time": params.get("cache_time"),
            }
        )
        return True

    def _command_key(self, params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None:
            if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
                raise bad_request("can't parse BotCommandScope JSON object")
            chat_scope = scope["type"] in ("chat", "chat_administrators", "chat_member")
            if chat_scope and _int_or(scope.get("chat_id"), None) not in self._chats:
                raise bad_request("chat not found")
        language_code = str(params.get("language_code") or "")
        if language_code and not _LANGUAGE_CODE.match(language_code):
            raise bad_request("invalid language code specified")
        return _scope_key(scope), language_code

    async def _set_my_commands(self, params: JSONDict, request: web.Request) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" must be an Array')
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        parsed: list[tuple[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("command description is empty or too long")
            parsed.append((name, description))
        key = self._command_key(params)
        if parsed:
            self._commands[key] = parsed
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSONDict, request: web.Request) -> list[JSONDict]:
        key = self._command_key(params)
        return [
            {"command": name, "description": description}
            for name, description in self._commands.get(key, [])
        ]

    async def _delete_my_commands(self, params: JSONDict, request: web.Request) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    def _set_bot_text(self, field: str) -> Handler:
        async def handler(params: JSONDict, request: web.Request) -> bool:
            language_code = str(params.get("language_code") or "")
            value = params.get(field)
            if value:
                self._bot_texts[(field, language_code)] = str(value)
            else:
                self._bot_texts.pop((field, language_code), None)
            return True

        return handler

    def _get_bot_text(self, field: str) -> Handler:
        async def handler(params: JSONDict, request: web.Request) -> JSONDict:
            language_code = str(params.get("language_code") or "")
            value = self._bot_texts.get((field, language_code))
            if value is None and field == "name":
                value = self.bot_first_name
            return {field: value or ""}

        return handler

    async def _send_document(self, params: JSONDict, request: web.Request) -> JSONDict:
        return self._send_media(params, "document", "documents", "application/octet-stream")

    async def _send_photo(self, params: JSONDict, request: web.Request) -> JSONDict:
        return self._send_media(params, "photo", "photos", "image/jpeg")

    def _send_media(self, params: JSONDict, name: str, folder: str, mime: str) -> JSONDict:
        chat_id = self._writable_chat(params)
        stored = self._input_file(params, name, folder=folder, default_mime=mime)
        caption = params.get("caption")
        formatted = self._format(
            caption, params.get("parse_mode"), params.get("caption_entities"), caption=True
        )
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat_id, params)
        message = BotMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            text=formatted.text or None,
            date=int(time.time()),
            parse_mode=params.get("parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
            document=stored if name == "document" else None,
            photo=stored if name == "photo" else None,
            reply_to_message_id=reply_to,
            source_text=None if caption is None else str(caption),
        )
        return self._store_bot_message(message)

    async def _get_file(self, params: JSONDict, request: web.Request) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        stored = self._find_file(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        unique_id = stored.file_unique_id
        if file_id != stored.file_id:
            unique_id += file_id.rsplit("-", 1)[1]
        return {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _send_chat_action(self, params: JSONDict, request: web.Request) -> bool:
        self._writable_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _set_chat_menu_button(self, params: JSONDict, request: web.Request) -> bool:
        chat_id = self._chat_id(params) if params.get("chat_id") not in (None, "") else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse MenuButton JSON object")
        self._menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: JSONDict, request: web.Request) -> JSONDict:
        chat_id = self._chat_id(params) if params.get("chat_id") not in (None, "") else None
        return self.menu_button(chat_id)

    async def _get_chat(self, params: JSONDict, request: web.Request) -> JSONDict:
        chat = self._chats[self._chat_id(params)]
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _int_or(value: Any, default: Any) -> Any:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    return default


def _scope_key(scope: JSONDict | None) -> str:
    normalized = {
        key: _int_or(value, value) if key in ("chat_id", "user_id") else value
        for key, value in (scope or {"type": "default"}).items()
        if value is not None
    }
    return json.dumps(normalized, sort_keys=True)
