"""Waiting for the fake's state to change: the ``wait_*`` helpers, long polls and held calls.

Every change (a request answered, an update pushed, the server stopping) wakes all waiters,
which then look again at the state.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from .models import BotMessage, RecordedCall
from .state import State

_T = TypeVar("_T")


class WaitTimeout(AssertionError):
    """Raised by the ``wait_*`` helpers when the awaited event did not happen in time."""


class Waiting(State):
    """The ``wait_*`` helpers and the change signal they and the HTTP layer wait on."""

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

    async def wait_revision(self, after: int, timeout: float = 25.0) -> int:  # noqa: ASYNC109
        """Wait until :attr:`revision` is above ``after`` (or ``timeout`` passes, or the server
        stops); returns the revision then. For viewers that follow the chats live."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.revision <= after and not self._stopping:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await self._changed(remaining)
        return self.revision

    def _notify(self) -> None:
        """Wake everything waiting in :meth:`_changed`: the state may have changed."""
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
        """Return what ``find`` finds as soon as it finds something, else raise WaitTimeout."""
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
        """Hold a call for ``seconds``, or until the server stops."""
        # A held call goes on when its client gives up waiting (aiohttp does not cancel a
        # handler whose connection closed), so a slow answer still delivers, as on Telegram.
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._stopping:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await self._changed(remaining)

    def _summary(self) -> str:
        """The recent calls and protocol errors, for a WaitTimeout message."""
        recent = [
            f"{call.method}({'ok' if call.ok else call.error})"
            for call in self.calls[-8:]
            if call.method != "getUpdates"
        ]
        lines = [f"\n  recent calls: {recent}"]
        if self.errors:
            lines.append(f"\n  protocol errors: {self.errors}")
        return "".join(lines)
