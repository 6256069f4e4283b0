"""The user-driving API: tests act as Telegram users by pushing updates.

Private chats have the user's id as chat id; pass ``chat_id=`` to write in a group. Every
``push_*`` queues an update for the bot's next getUpdates and returns its update id.
"""

from __future__ import annotations

import copy
import mimetypes
import re

from .markup import utf16_len
from .models import BotMessage, FakeUser, JSONDict
from .waiters import Waiting

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
# Not a decodable image: the fake never looks at pixels, it only needs recognisable bytes.
_PLACEHOLDER_JPEG = b"\xff\xd8\xff\xe0fake-telegram-photo\xff\xd9"


class UserDriving(Waiting):
    """Acting as users: text, edits, button presses, locations, photos, documents."""

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
        edited: JSONDict = {**original, "text": text, "edit_date": self._now()}
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

    def add_bot_to_group(
        self, user: FakeUser, chat_id: int, title: str, *, supergroup: bool | None = None
    ) -> int:
        """Let ``user`` add the bot to the group ``chat_id`` (negative) called ``title``.

        Pushes the ``my_chat_member`` update Telegram sends (the bot from "left" to "member")
        and lets the bot write in the group again if it had been removed. The group is a
        supergroup when ``supergroup`` says so, by default when its id is -100…; returns the
        update id.
        """
        if chat_id >= 0:
            raise ValueError("a group's chat id is negative")
        if supergroup is None:
            supergroup = chat_id <= -1_000_000_000_000
        chat: JSONDict = {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
        }
        self._chats[chat_id] = chat
        self._ensure_chat(user, chat_id)
        self._blocked.discard(chat_id)
        return self._push_bot_membership(user, chat, "left", "member")

    def remove_bot_from_group(self, user: FakeUser, chat_id: int, *, kicked: bool = True) -> int:
        """Let ``user`` remove the bot from the group ``chat_id``; returns the update id.

        Pushes the ``my_chat_member`` update (the bot from "member" to "kicked", or to "left"
        with ``kicked=False``); from then on the bot's calls for that chat answer 403
        ``Forbidden: bot was kicked from the group chat``, as Telegram does.
        """
        chat = self._chats.get(chat_id)
        if chat is None or chat.get("type") not in ("group", "supergroup"):
            raise AssertionError(f"no group {chat_id} to remove the bot from")
        self._blocked.add(chat_id)
        return self._push_bot_membership(user, chat, "member", "kicked" if kicked else "left")

    def _push_bot_membership(self, user: FakeUser, chat: JSONDict, old: str, new: str) -> int:
        """A ``my_chat_member`` update: ``user`` changed the bot's status in ``chat``."""
        self._users.setdefault(user.id, user)
        bot = self._bot_user()

        def member(status: str) -> JSONDict:
            found: JSONDict = {"status": status, "user": bot}
            if status == "kicked":
                found["until_date"] = 0  # for ever
            return found

        return self.push_update(
            {
                "my_chat_member": {
                    "chat": copy.deepcopy(chat),
                    "from": user.to_dict(),
                    "date": self._now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

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
