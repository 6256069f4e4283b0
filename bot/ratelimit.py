"""Telegram's sending limits, kept by sliding windows over a monotonic clock.

Telegram answers "429 Too Many Requests" to a bot that sends more than about 30 messages a
second overall, more than one a second to one chat, or more than 20 a minute to one group.
`Limiter` is the pure bookkeeping: given the moment (seconds of a monotonic clock), it says how
long a send to a chat must wait so that no window is ever exceeded, and records the sends.
`Pacer` puts it on the real clock for the dispatcher: it waits, then records.

Two lanes share the limits. Replies to people waiting for an answer, and alarms, go first:
while one of them waits for room in the overall window, bulk sends (digests, broadcasts) wait
behind it. Bulk also keeps a little headroom under the overall cap (`bulk_per_second`), so a
reply usually finds room at once even in the middle of a city's Monday.
`PacedRateLimiter` puts every message the bot sends through the same pacer: replies as they
are sent by the handlers, pushes as the dispatcher sends them.

Every window counts a send from the moment Telegram answered it (`landed`), and until then
from the moment it was let go. The send arrived before its answer came, so a send let go a
second or more after that answer cannot arrive within a second of it, however long the first
took to leave (a busy event loop, a slow network): arrivals keep the limits, not only
departures. Counting from answers costs each send its round trip: at most 29 bulk sends
whose answers came within the last second leaves 29 / (1 + round trip) a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """How many sends each window allows."""

    overall_per_second: int = 30
    # The share of bulk sends; the rest is kept for replies. Bulk sends also leave evenly
    # spaced (1/bulk_per_second apart), not in bursts: a burst leaves at once but arrives
    # spread out, and the next one, leaving a second later, would catch up with it.
    bulk_per_second: int = 29
    per_chat_seconds: float = 1.0  # at most one send per chat in this long
    group_per_minute: int = 20  # chats with a negative id are groups
    # A chat's next send waits this much longer than the limit, counted from the answer to
    # the one before (`Limiter.landed`): room for Telegram's clock, not the bot's.
    margin: float = 0.1
    # The overall window is counted over this much more than a second. Counting each send
    # from its answer already keeps arrivals apart; this is extra room, none by default.
    overall_margin: float = 0.0


TELEGRAM = Limits()
# For a process that must not wait (a simulation that plays months in seconds).
UNLIMITED = Limits(
    overall_per_second=1_000_000,
    bulk_per_second=1_000_000,
    per_chat_seconds=0.0,
    group_per_minute=1_000_000,
    margin=0.0,
    overall_margin=0.0,
)


class Window:
    """The moments of the sends in the last `length` seconds; at most `most` of them."""

    def __init__(self, most: int, length: float) -> None:
        self.most = most
        self.length = length
        self._moments: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self._moments and self._moments[0] <= now - self.length:
            self._moments.popleft()

    def wait(self, now: float, most: int | None = None) -> float:
        """Seconds from `now` until one more send fits (0 when it fits now)."""
        cap = self.most if most is None else most
        self._forget(now)
        if len(self._moments) < cap:
            return 0.0
        # The send that must leave the window before one more fits.
        leaving = self._moments[len(self._moments) - cap]
        return max(0.0, leaving + self.length - now)

    def record(self, now: float) -> None:
        self._moments.append(now)

    def move(self, moment: float, later: float) -> None:
        """The send recorded at `moment` counts from `later` instead (kept in order)."""
        if later <= moment:
            return
        moments = self._moments
        # Gone already when it was a window's length ago: it counts from `later` all the same.
        for index in range(len(moments) - 1, -1, -1):
            if moments[index] == moment:
                del moments[index]
                break
        index = len(moments)
        while index > 0 and moments[index - 1] > later:
            index -= 1
        moments.insert(index, later)

    def __len__(self) -> int:
        return len(self._moments)

    def empty_at(self, now: float) -> bool:
        self._forget(now)
        return not self._moments


@dataclass
class Limiter:
    """Sliding windows per Telegram limit; pure: every moment is passed in."""

    limits: Limits = TELEGRAM
    _overall: Window = field(init=False)
    _chats: dict[int, Window] = field(init=False, default_factory=dict)
    _paused_until: float = field(init=False, default=0.0)
    _last_bulk: float = field(init=False, default=float("-inf"))
    _last_any: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self._overall = Window(self.limits.overall_per_second, 1.0 + self.limits.overall_margin)

    def _chat(self, chat_id: int) -> Window | None:
        if chat_id < 0:
            window = self._chats.setdefault(
                chat_id, Window(self.limits.group_per_minute, 60.0 + self.limits.margin)
            )
        elif self.limits.per_chat_seconds > 0:
            window = self._chats.setdefault(
                chat_id, Window(1, self.limits.per_chat_seconds + self.limits.margin)
            )
        else:
            return None
        return window

    def wait(self, chat_id: int, now: float, *, bulk: bool = True) -> float:
        """Seconds from `now` until a send to `chat_id` fits every window."""
        cap = self.limits.bulk_per_second if bulk else self.limits.overall_per_second
        waits = [self._paused_until - now, self._overall.wait(now, cap)]
        # Every send keeps an even pace too (1/overall_per_second apart), bulk its own slower one.
        waits.append(self._last_any + 1.0 / self.limits.overall_per_second - now)
        if bulk:
            waits.append(self._last_bulk + 1.0 / self.limits.bulk_per_second - now)
        chat = self._chat(chat_id)
        if chat is not None:
            waits.append(chat.wait(now))
        return max(0.0, *waits)

    def chat_wait(self, chat_id: int, now: float) -> float:
        """Seconds until the chat's own window (and a flood-control pause) allow a send."""
        chat = self._chat(chat_id)
        return max(0.0, self._paused_until - now, chat.wait(now) if chat is not None else 0.0)

    def record(self, chat_id: int, now: float, *, bulk: bool = True) -> None:
        """A send to `chat_id` went out (or was tried) at `now`."""
        self._overall.record(now)
        # On the grid of evenly spaced moments, so a send that woke a little late does not
        # push every later one back too (at most one step is caught up).
        self._last_any = _on_grid(self._last_any, now, 1.0 / self.limits.overall_per_second)
        if bulk:
            self._last_bulk = _on_grid(self._last_bulk, now, 1.0 / self.limits.bulk_per_second)
        chat = self._chat(chat_id)
        if chat is not None:
            chat.record(now)
        self._tidy(now)

    def landed(self, chat_id: int, sent_at: float, now: float) -> None:
        """The send to `chat_id` recorded at `sent_at` was answered at `now`: the overall
        window and its chat's count it from `now`."""
        self._overall.move(sent_at, now)
        chat = self._chat(chat_id)
        if chat is not None:
            chat.move(sent_at, now)

    def pause(self, seconds: float, now: float) -> None:
        """Telegram said "retry after `seconds`": nothing goes out before then."""
        self._paused_until = max(self._paused_until, now + seconds)

    def _tidy(self, now: float) -> None:
        # Chats without a recent send need no window; a long broadcast would otherwise keep
        # one per recipient for the life of the process.
        if len(self._chats) > 1000:
            for chat_id in [c for c, w in self._chats.items() if w.empty_at(now)]:
                del self._chats[chat_id]


# How long a bulk send that fits waits before it looks again, while a reply or an alarm is
# waiting for room in the overall window.
GIVE_WAY_SECONDS = 0.01


def _on_grid(last: float, now: float, step: float) -> float:
    return max(last + step, now - step)


class Pacer:
    """A `Limiter` on the monotonic clock: `acquire` waits until a send fits, then records it.

    Sends that go first (`bulk=False`: replies, alarms) may use the whole overall cap, and
    while one of them waits for room in it, bulk sends give way. A send waiting only for its
    own chat's window holds nobody up.

    Bulk sends wait for the windows they share one at a time, in the order they came: the
    first in line watches the clock and the others wait their turn. Each then wakes about
    once, not every time room opens for one of them: with a batch of sends on their way,
    that was most of the event loop's work per send on a city's Monday.
    """

    def __init__(
        self,
        limits: Limits = TELEGRAM,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        self.limiter = Limiter(limits)
        self._clock = clock
        self._sleep = sleep
        self._first_waiting = 0  # sends that go first, waiting for room in the overall window
        # The bulk line, made on the event loop that first uses it (a pacer outlives no loop
        # in the bot, but may in tests).
        self._line: asyncio.Lock | None = None
        self._line_loop: asyncio.AbstractEventLoop | None = None

    async def acquire(self, chat_id: int, *, bulk: bool = True) -> float:
        """Wait until a send to `chat_id` fits Telegram's limits, and count it; returns the
        moment it was counted at (for `landed`)."""
        if not bulk:
            return await self._acquire_first(chat_id)
        while True:
            # Its own chat first, out of line: that holds nobody up.
            while (delay := self.limiter.chat_wait(chat_id, self._clock())) > 0:
                await self._wait(delay)
            async with self._bulk_line():
                while True:
                    now = self._clock()
                    if self.limiter.chat_wait(chat_id, now) > 0:
                        break  # its chat had a send meanwhile (a reply): out of line again
                    delay = self.limiter.wait(chat_id, now, bulk=True)
                    if delay <= 0 and self._first_waiting:
                        delay = GIVE_WAY_SECONDS
                    if delay <= 0:
                        # No await between looking and counting: nothing else can take the room.
                        self.limiter.record(chat_id, now, bulk=True)
                        return now
                    await self._wait(delay)

    async def _acquire_first(self, chat_id: int) -> float:
        counted = False
        try:
            while True:
                now = self._clock()
                delay = self.limiter.wait(chat_id, now, bulk=False)
                if delay <= 0:
                    self.limiter.record(chat_id, now, bulk=False)
                    return now
                # It holds bulk up only while its own chat would let it go.
                blocking = self.limiter.chat_wait(chat_id, now) <= 0
                if blocking != counted:
                    self._first_waiting += 1 if blocking else -1
                    counted = blocking
                await self._wait(delay)
        finally:
            if counted:
                self._first_waiting -= 1

    def _bulk_line(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._line is None or self._line_loop is not loop:
            self._line, self._line_loop = asyncio.Lock(), loop
        return self._line

    async def _wait(self, seconds: float) -> None:
        waited = self._sleep(seconds)
        if asyncio.iscoroutine(waited):
            await waited

    def landed(self, chat_id: int, sent_at: float) -> None:
        """The send counted at `sent_at` has its answer (or failed): see `Limiter.landed`."""
        self.limiter.landed(chat_id, sent_at, self._clock())

    def pause(self, seconds: float) -> None:
        self.limiter.pause(seconds, self._clock())

    def ready_in(self, chat_id: int) -> float:
        """Seconds until a send to `chat_id` would fit (0: now)."""
        return self.limiter.wait(chat_id, self._clock())


# The Bot API methods that put (or change) a message in a chat: these count towards the limits.
_EDITS = ("editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup")
_NOT_MESSAGES = frozenset({"sendChatAction"})


def counts_towards_limits(endpoint: str) -> bool:
    if endpoint in _NOT_MESSAGES:
        return False
    return (
        endpoint.startswith("send")
        or endpoint in _EDITS
        or endpoint
        in (
            "copyMessage",
            "forwardMessage",
        )
    )


# `rate_limit_args` of a send the dispatcher makes: bulk unless it is an alarm.
BULK = "bulk"
FIRST = "first"
# Flood control despite the pacer (another process using the same bot, arrivals bunched up
# on the way): tries after the pause Telegram asks for.
MAX_RETRIES = 2


class PacedRateLimiter(BaseRateLimiter[str]):
    """python-telegram-bot's rate limiter, on this bot's pacer.

    Every message goes through the pacer: a handler's reply goes first, the dispatcher's
    pushes say `rate_limit_args=BULK` (or `FIRST` for an alarm). Other calls (getUpdates,
    answering a button) are not limited. Once a call is answered, its chat's window counts it
    from then (`Pacer.landed`). When Telegram still answers 429, everything waits the time it
    asks and the call is tried again (twice at most).
    """

    def __init__(self, pacer: Callable[[], Pacer]) -> None:
        self._pacer = pacer

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = _chat_id(data.get("chat_id"))
        limited = chat_id is not None and counts_towards_limits(endpoint)
        for attempt in range(MAX_RETRIES + 1):
            pacer = self._pacer()
            sent_at: float | None = None
            if limited:
                assert chat_id is not None
                sent_at = await pacer.acquire(chat_id, bulk=rate_limit_args == BULK)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                pacer.pause(retry_seconds(error))
                if attempt == MAX_RETRIES:
                    raise
                log.info("Flood control on %s; trying once more after the pause", endpoint)
            finally:
                if sent_at is not None:
                    assert chat_id is not None
                    pacer.landed(chat_id, sent_at)
        raise AssertionError("unreachable")


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds."""
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _chat_id(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None  # "@channel": not a chat this bot writes to
    return None
