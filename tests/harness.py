"""Drive the real bot over HTTP through the fake Bot API, as its users would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from telegram.ext import Application

from bot.app import build_application, start_beside, stop_beside
from bot.clock import FakeClock
from bot.concurrency import PerChatUpdateProcessor
from bot.config import Settings
from bot.context import AppContext
from bot.domain.programme import load_programmes
from bot.jobs.outbox import use_limits
from bot.ratelimit import UNLIMITED
from bot.sandbox import timemachine
from bot.texts import get_texts
from db.models import OUTBOX_SENT, OutboxMessage
from db.session import Database
from fake_telegram import BotMessage, FakeTelegram, FakeUser

AMS = ZoneInfo("Europe/Amsterdam")
PROCESS_TIMEOUT = 10.0


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
        self.automatic_dispatch = False
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
        # The fake clock plays weeks in seconds of real time, so Telegram's real-time limits
        # would only make tests wait; tests of the limits turn them on (use_limits).
        use_limits(self.context, UNLIMITED)
        self.app = build_application(self.context, settings.require_token())
        # Tests decide when the dispatcher runs (h.dispatch / h.run_until), so a push never
        # races an assertion; one test keeps it automatic to show the jobs are wired.
        await start_beside(self.app, jobs=self.automatic_dispatch)

    async def stop_bot(self) -> None:
        if self.app is None:
            return
        await stop_beside(self.app)
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

    async def processed(self, update_id: int) -> None:
        """Wait until the bot has handled that update (or fail the test after 10 seconds)."""
        async with asyncio.timeout(PROCESS_TIMEOUT):
            await self.processor.wait_processed(update_id)

    async def _settle(self, chat_id: int, update_id: int, mark: int) -> list[BotMessage]:
        await self.processed(update_id)
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

    # -- the outbox, driven by the fake clock ---------------------------------------------

    async def dispatch(self) -> int:
        """Run the dispatcher until nothing more is due now; returns how many rows it took."""
        assert self.context is not None and self.app is not None
        return await timemachine.dispatch(self.context, self.app.bot)

    async def next_due(self) -> datetime | None:
        assert self.context is not None
        return await timemachine.next_due(self.context)

    async def run_until(self, moment: datetime) -> None:
        """Let time pass until `moment`, dispatching each push at the moment it is due."""
        for _ in range(10_000):
            due = await self.next_due()
            if due is None or due > moment:
                break
            self.clock.set(max(due, self.clock.now()))
            await self.dispatch()
        else:
            raise AssertionError("the outbox kept finding work: a loop?")
        self.clock.set(max(moment, self.clock.now()))

    async def pushes(self, status: str = OUTBOX_SENT) -> list[Push]:
        """Rows of the outbox with this status, in the order they were sent (or planned)."""
        assert self.db is not None
        async with self.db.read() as session:
            rows = await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == status)
                .order_by(OutboxMessage.sent_at, OutboxMessage.next_attempt_at, OutboxMessage.id)
            )
            return [
                Push(
                    r.user_id,
                    r.kind,
                    (r.sent_at or r.next_attempt_at).astimezone(AMS),
                    dict(r.payload),
                    r.last_error,
                )
                for r in rows
            ]


@dataclass(frozen=True)
class Push:
    user_id: int
    kind: str
    at: datetime  # local time it was sent (or is planned)
    payload: dict[str, Any]
    error: str | None

    @property
    def local(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M")
