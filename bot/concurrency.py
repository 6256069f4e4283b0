"""Update processing: different chats at once, each chat's updates strictly in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's own limit only has to let every waiting update in; ours (below) bounds the work.
_ADMISSION = 4096


def chat_key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs updates concurrently, but one chat's updates one after another.

    PTB starts a task per update in arrival order. Each task takes its chat's lock and only
    then one of `concurrency` slots; asyncio locks are fair, so a chat's updates run in the
    order Telegram sent them, and updates queued behind a slow conversation never hold a
    slot another chat could use.
    """

    def __init__(self, concurrency: int = 32) -> None:
        super().__init__(_ADMISSION)
        self._slots = asyncio.BoundedSemaphore(concurrency)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiters: dict[int, int] = {}
        self._done = asyncio.Condition()
        self._last_done: set[int] = set()
        # Told the id of every update once it has been handled (a benchmark watching the
        # bot from another process).
        self.on_processed: Callable[[int], None] | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        try:
            if key is None:
                async with self._slots:
                    await coroutine
                return
            lock = self._locks.setdefault(key, asyncio.Lock())
            self._waiters[key] = self._waiters.get(key, 0) + 1
            try:
                async with lock, self._slots:
                    await coroutine
            finally:
                self._waiters[key] -= 1
                if self._waiters[key] == 0:
                    del self._waiters[key]
                    del self._locks[key]
        finally:
            if isinstance(update, Update):
                await self._mark_done(update.update_id)

    async def _mark_done(self, update_id: int) -> None:
        async with self._done:
            self._last_done.add(update_id)
            # Only tests wait for these; keep the set small on a long-running bot.
            if len(self._last_done) > 10_000:
                self._last_done = {i for i in self._last_done if i > update_id - 5_000}
            self._done.notify_all()
        if self.on_processed is not None:
            self.on_processed(update_id)

    async def wait_processed(self, update_id: int) -> None:
        """Wait until the update with this id has been handled (used by tests and tools).

        Callers bound the wait themselves (asyncio.timeout)."""
        async with self._done:
            await self._done.wait_for(lambda: update_id in self._last_done)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
