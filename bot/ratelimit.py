"""Telegram's sending limits, kept by sliding windows over a monotonic clock.

Telegram answers "429 Too Many Requests" to a bot that sends more than about 30 messages a
second overall, more than one a second to one chat, or more than 20 a minute to one group.
`Limiter` is the pure bookkeeping: given the moment (seconds of a monotonic clock), it says how
long a send to a chat must wait so that no window is ever exceeded, and records the sends.
`Pacer` puts it on the real clock for the dispatcher: it waits, then records.

Bulk sends (broadcasts, digests) keep headroom under the overall cap (`bulk_per_second`), so
replies to people waiting for an answer still fit beside a broadcast.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """How many sends each window allows."""

    overall_per_second: int = 30
    bulk_per_second: int = 25  # the dispatcher's share of the overall cap
    per_chat_seconds: float = 1.0  # at most one send per chat in this long
    group_per_minute: int = 20  # chats with a negative id are groups
    # Sends arrive at Telegram a little after they leave, not always equally late: a chat's
    # next send waits this much longer than the limit, so arrivals keep the limit too.
    margin: float = 0.1


TELEGRAM = Limits()
# For a process that must not wait (a simulation that plays months in seconds).
UNLIMITED = Limits(
    overall_per_second=1_000_000,
    bulk_per_second=1_000_000,
    per_chat_seconds=0.0,
    group_per_minute=1_000_000,
    margin=0.0,
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

    def __post_init__(self) -> None:
        self._overall = Window(self.limits.overall_per_second, 1.0)

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
        chat = self._chat(chat_id)
        if chat is not None:
            waits.append(chat.wait(now))
        return max(0.0, *waits)

    def record(self, chat_id: int, now: float) -> None:
        """A send to `chat_id` went out (or was tried) at `now`."""
        self._overall.record(now)
        chat = self._chat(chat_id)
        if chat is not None:
            chat.record(now)
        self._tidy(now)

    def pause(self, seconds: float, now: float) -> None:
        """Telegram said "retry after `seconds`": nothing goes out before then."""
        self._paused_until = max(self._paused_until, now + seconds)

    def _tidy(self, now: float) -> None:
        # Chats without a recent send need no window; a long broadcast would otherwise keep
        # one per recipient for the life of the process.
        if len(self._chats) > 1000:
            for chat_id in [c for c, w in self._chats.items() if w.empty_at(now)]:
                del self._chats[chat_id]


class Pacer:
    """A `Limiter` on the monotonic clock: `acquire` waits until a send fits, then records it."""

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
        self._lock = asyncio.Lock()

    async def acquire(self, chat_id: int, *, bulk: bool = True) -> None:
        """Wait until a send to `chat_id` fits Telegram's limits, and count it."""
        async with self._lock:
            while (delay := self.limiter.wait(chat_id, self._clock(), bulk=bulk)) > 0:
                waited = self._sleep(delay)
                if asyncio.iscoroutine(waited):
                    await waited
            self.limiter.record(chat_id, self._clock())

    def pause(self, seconds: float) -> None:
        self.limiter.pause(seconds, self._clock())

    def ready_in(self, chat_id: int) -> float:
        """Seconds until a send to `chat_id` would fit (0: now)."""
        return self.limiter.wait(chat_id, self._clock())
