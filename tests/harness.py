"""Drive the real bot over HTTP through the fake Bot API, as its users would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.clock import FakeClock
from bot.concurrency import PerChatUpdateProcessor
from bot.config import Settings
from bot.context import AppContext
from bot.domain.programme import load_programmes
from bot.fake_telegram import BotMessage, FakeTelegram, FakeUser
from bot.texts import get_texts
from db.session import Database


class Harness:
    """A fake Telegram, the bot polling it, one database and one clock.

    `send` and `press` return once the bot has finished handling that update, with the
    messages it sent to that chat meanwhile, so tests need no sleeps.
    """

    def __init__(
        self,
        database_url: str,
        *,
        start: datetime,
        make_settings: Callable[..., Settings],
        **overrides: Any,
    ) -> None:
        self.database_url = database_url
        self.clock = FakeClock(start)
        self.tg = FakeTelegram()
        self._make_settings = make_settings
        self._overrides = overrides
        self.app: Application | None = None  # type: ignore[type-arg]
        self.context: AppContext | None = None
        self.db: Database | None = None

    async def __aenter__(self) -> Harness:
        await self.tg.start()
        await self.start_bot()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_bot()
        await self.tg.stop()

    @property
    def settings(self) -> Settings:
        return self._make_settings(
            self.database_url, self.tg.base_url.removesuffix("/bot"), **self._overrides
        )

    async def start_bot(self) -> None:
        """Start a fresh bot process on the same database (as after a restart)."""
        settings = self.settings
        self.db = Database(settings.database_url)
        self.context = AppContext(
            settings=settings,
            db=self.db,
            clock=self.clock,
            programmes=load_programmes(),
            texts=get_texts(),
        )
        self.app = build_application(self.context, settings.require_token())
        await self.app.initialize()
        if self.app.post_init:
            await self.app.post_init(self.app)
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            poll_interval=0,
            timeout=1,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )

    async def stop_bot(self) -> None:
        if self.app is None:
            return
        assert self.app.updater is not None
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        if self.db is not None:
            await self.db.dispose()
        self.app = None

    async def restart(self) -> None:
        await self.stop_bot()
        await self.start_bot()

    @property
    def processor(self) -> PerChatUpdateProcessor:
        assert self.app is not None
        processor = self.app.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        return processor

    def user(self, user_id: int, name: str = "Test", **kwargs: Any) -> FakeUser:
        return self.tg.user(user_id, name, **kwargs)

    async def _settle(self, chat_id: int, update_id: int, mark: int) -> list[BotMessage]:
        await self.processor.wait_processed(update_id)
        return self.tg.messages_since(chat_id, mark)

    async def send(self, user: FakeUser, text: str) -> list[BotMessage]:
        """The user types `text`; returns what the bot sent to them while handling it."""
        mark = self.tg.last_message_id(user.id)
        update_id = self.tg.push_text(user, text)
        return await self._settle(user.id, update_id, mark)

    async def press(self, user: FakeUser, message: BotMessage, button: str) -> list[BotMessage]:
        """The user presses the button with this text under `message`."""
        mark = self.tg.last_message_id(user.id)
        update_id = self.tg.press_button(user, message, button)
        return await self._settle(user.id, update_id, mark)

    async def press_data(
        self, user: FakeUser, message_id: int, data: str, *, force: bool = False
    ) -> list[BotMessage]:
        """Press a button by its callback data (force: data the message never offered)."""
        mark = self.tg.last_message_id(user.id)
        update_id = self.tg.push_callback(user, message_id, data, force=force)
        return await self._settle(user.id, update_id, mark)
