"""The bot's python-telegram-bot `ExtBot`, with a lean way to send a text.

`send_message` turns Telegram's answer into a `Message`: the text's entities, the keyboard,
the chat and the sender, each a python-telegram-bot object. A push needs only the new
message's id, and building that `Message` was about a third of the bot's CPU on the call.
`send_text` sends the same call, with the bot's defaults (HTML, no link previews) and through
its rate limiter, and keeps only the id.
"""

from __future__ import annotations

from typing import Any

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict
from telegram.ext import ExtBot


class WijkBot(ExtBot[str]):
    """python-telegram-bot's `ExtBot`; the bot's rate limiter takes a lane (a `str`)."""

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: JSONDict | None = None,
        rate_limit_args: str | None = None,
    ) -> int:
        """Send `text` to `chat_id` as `send_message` would, with `reply_markup` as Telegram
        reads it (`InlineKeyboardMarkup.to_dict()`); the new message's id."""
        data: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "reply_markup": reply_markup,
            # Filled in from the bot's Defaults, as `send_message` leaves them.
            "parse_mode": DEFAULT_NONE,
            "link_preview_options": DEFAULT_NONE,
            "disable_notification": DEFAULT_NONE,
            "protect_content": DEFAULT_NONE,
        }
        result = await self._post(
            "sendMessage", data, api_kwargs=self._merge_api_rl_kwargs(None, rate_limit_args)
        )
        return int(result["message_id"])
