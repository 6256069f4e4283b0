"""The Bot API methods the fake implements, with Telegram's validation and error wording.

Each method is a handler ``(params, request) -> result``; the HTTP layer (``server.py``)
decodes the parameters, applies injected faults, calls the handler and wraps the result in
Telegram's ``{"ok": ..., "result": ...}`` envelope.
"""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request
from .keyboards import KeyboardError, validate_reply_markup
from .markup import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    FormattedText,
    MarkupError,
    UnsupportedParseModeError,
    parse_text,
)
from .models import BotMessage, FakeUser, JSONDict, StoredFile, UploadedFile
from .params import int_or
from .state import scope_key
from .waiters import Waiting

Handler = Callable[[JSONDict, web.Request], Awaitable[Any]]


class _UserObjects(Mapping[int, JSONDict]):
    """The known users as Telegram ``User`` objects, each built when a text mentions it:
    building them all for every message made each send cost more the more users there were."""

    def __init__(self, users: Mapping[int, FakeUser]) -> None:
        self._users = users

    def __getitem__(self, user_id: int) -> JSONDict:
        return self._users[user_id].to_dict()

    def __iter__(self) -> Iterator[int]:
        return iter(self._users)

    def __len__(self) -> int:
        return len(self._users)


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
_KICKED = "Forbidden: bot was kicked from the group chat"
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


class BotApi(Waiting):
    """The Bot API methods, by name, and the checks they share."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
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

    def _known_method(self, method: str) -> str:
        """The lower-cased name of an implemented method; ValueError for any other name."""
        if method.lower() not in self._methods:
            raise ValueError(f"the fake Telegram server does not implement {method!r}")
        return method.lower()

    # -----------------------------------------------------------------------------------------
    # Checks shared by the methods

    def _chat_id(self, params: JSONDict) -> int:
        """The known chat named by ``chat_id``."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int) or raw not in self._chats:
            raise bad_request("chat not found")
        return raw

    def _writable_chat(self, params: JSONDict) -> int:
        """The chat named by ``chat_id``, unless its user blocked the bot or the bot was
        removed from the group (403)."""
        chat_id = self._chat_id(params)
        if chat_id in self._blocked:
            raise ApiError(HTTPStatus.FORBIDDEN, _KICKED if chat_id < 0 else _BLOCKED)
        return chat_id

    @staticmethod
    def _message_id(params: JSONDict) -> int:
        """The ``message_id`` parameter (inline messages are not modelled)."""
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
        """Parse a text or caption as Telegram does, checking markup and length."""
        if text is None:
            return FormattedText("")
        known = _UserObjects(self._users)
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
        """The parsed ``text`` of a message, which must not be empty."""
        text = params.get("text")
        if text is None or text == "":
            raise bad_request("message text is empty")
        formatted = self._format(text, params.get("parse_mode"), params.get("entities"))
        if not formatted.text:
            raise bad_request("message text is empty")
        return formatted

    @staticmethod
    def _reply_markup(params: JSONDict, *, inline_only: bool = False) -> JSONDict | None:
        """The validated ``reply_markup``, or ``None`` when there is none."""
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
        """The id of the message replied to, from ``reply_parameters`` or the older fields."""
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

    def _input_file(
        self, params: JSONDict, name: str, *, folder: str, default_mime: str
    ) -> StoredFile:
        """The file sent as ``name``: an upload, ``attach://`` field or known file id."""
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
        offset = int_or(params.get("offset"), 0)
        limit = min(max(int_or(params.get("limit"), 100), 1), 100)
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
            date=self._now(),
            parse_mode=params.get("parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            source_text=str(params["text"]),
        )
        return self._store_bot_message(message)

    def _message_to_edit(self, params: JSONDict) -> BotMessage:
        """The bot message an edit method names."""
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
        """The message's inline keyboard, the only markup an edit can compare or change."""
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
        """Edit a message's text or caption and keyboard, as the edit methods share."""
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
        message.edit_date = self._now()
        self._touched()
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
        message.edit_date = self._now()
        self._touched()
        return self._message_dict(message)

    async def _delete_message(self, params: JSONDict, request: web.Request) -> bool:
        chat_id = self._chat_id(params)
        message_id = self._message_id(params)
        message = self._alive_message(chat_id, message_id)
        if message is not None:
            message.deleted = True
            self._touched()
            return True
        if self._user_messages.get(chat_id, {}).pop(message_id, None) is not None:
            self._touched()
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
        """The ``(scope, language)`` key of the set/get/deleteMyCommands parameters."""
        scope = params.get("scope")
        if scope is not None:
            if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
                raise bad_request("can't parse BotCommandScope JSON object")
            chat_scope = scope["type"] in ("chat", "chat_administrators", "chat_member")
            if chat_scope and int_or(scope.get("chat_id"), None) not in self._chats:
                raise bad_request("chat not found")
        language_code = str(params.get("language_code") or "")
        if language_code and not _LANGUAGE_CODE.match(language_code):
            raise bad_request("invalid language code specified")
        return scope_key(scope), language_code

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
        self._touched()
        return True

    async def _get_my_commands(self, params: JSONDict, request: web.Request) -> list[JSONDict]:
        key = self._command_key(params)
        return [
            {"command": name, "description": description}
            for name, description in self._commands.get(key, [])
        ]

    async def _delete_my_commands(self, params: JSONDict, request: web.Request) -> bool:
        self._commands.pop(self._command_key(params), None)
        self._touched()
        return True

    def _set_bot_text(self, field: str) -> Handler:
        """A setMy* handler for one of the bot's texts (name, description, ...)."""

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
        """A getMy* handler for one of the bot's texts (name, description, ...)."""

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
        """sendDocument and sendPhoto: store the file and the message that carries it."""
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
            date=self._now(),
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
    """Whether the client closed the connection of ``request``."""
    transport = request.transport
    return transport is None or transport.is_closing()
