"""A fake Telegram Bot API server for tests, benchmarks, fault tests and the web sandbox.

See ``docs/fake_telegram.md``. Typical use::

    async with FakeTelegram() as tg:
        app = application_builder(tg).build()
        app.add_handler(...)
        async with polling(app):
            user = tg.user(1001, "Anna")
            tg.push_text(user, "/start")
            reply = await tg.wait_for_message(user.id)
"""

from .errors import ApiError
from .markup import FormattedText, MarkupError, parse_text
from .models import BotMessage, Button, FakeUser, RecordedCall, StoredFile, UploadedFile
from .ptb import application_builder, fake_request, make_bot, polling
from .server import FakeTelegram
from .waiters import WaitTimeout

__all__ = [
    "ApiError",
    "BotMessage",
    "Button",
    "FakeTelegram",
    "FakeUser",
    "FormattedText",
    "MarkupError",
    "RecordedCall",
    "StoredFile",
    "UploadedFile",
    "WaitTimeout",
    "application_builder",
    "fake_request",
    "make_bot",
    "parse_text",
    "polling",
]
