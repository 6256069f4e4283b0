"""Telegram's flood limits, enforced strictly when asked (``strict_limits=True``).

Telegram answers 429 "Too Many Requests: retry after N" to a bot that sends more than 30
messages in a second overall, more than one message a second to one private chat, or more than
20 messages a minute to one group. Real Telegram tolerates short bursts; this fake does not, so
a bot that passes against it keeps the limits on every call. Off by default: tests that do not
care about timing are not slowed down or failed by it.

Every message-sending call (``send*`` except sendChatAction, ``editMessage*``) is recorded in
:attr:`RateLimits.log` with its monotonic arrival time and whether it was let through, so a
test can check afterwards that no window ever held too many.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from itertools import pairwise

OVERALL_PER_SECOND = 30
CHAT_SECONDS = 1.0
GROUP_PER_MINUTE = 20

# The calls that put (or change) a message in a chat: these count towards the limits.
LIMITED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendlocation",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)


@dataclass(frozen=True, slots=True)
class LimitedCall:
    """One message-sending call as the limits saw it."""

    method: str
    chat_id: int
    at: float  # time.monotonic() on arrival
    allowed: bool
    retry_after: int | None = None


class RateLimits:
    """Sliding windows over the calls let through; answers how long a refused call must wait."""

    def __init__(self) -> None:
        self.log: list[LimitedCall] = []
        self._overall: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}

    @staticmethod
    def _forget(window: deque[float], now: float, length: float) -> None:
        while window and window[0] <= now - length:
            window.popleft()

    def admit(self, method: str, chat_id: int | None, now: float) -> int | None:
        """Let the call through (None) or say after how many whole seconds to retry."""
        if method.lower() not in LIMITED_METHODS or chat_id is None:
            return None
        waits: list[float] = []
        self._forget(self._overall, now, 1.0)
        if len(self._overall) >= OVERALL_PER_SECOND:
            waits.append(self._overall[-OVERALL_PER_SECOND] + 1.0 - now)
        chat = self._chats.setdefault(chat_id, deque())
        if chat_id < 0:
            self._forget(chat, now, 60.0)
            if len(chat) >= GROUP_PER_MINUTE:
                waits.append(chat[-GROUP_PER_MINUTE] + 60.0 - now)
        else:
            self._forget(chat, now, CHAT_SECONDS)
            if chat:
                waits.append(chat[-1] + CHAT_SECONDS - now)
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            self.log.append(LimitedCall(method, chat_id, now, False, retry_after))
            return retry_after
        self._overall.append(now)
        chat.append(now)
        self.log.append(LimitedCall(method, chat_id, now, True))
        return None

    def allowed(self) -> list[LimitedCall]:
        return [call for call in self.log if call.allowed]

    def refused(self) -> list[LimitedCall]:
        return [call for call in self.log if not call.allowed]

    def reset(self) -> None:
        self.log.clear()
        self._overall.clear()
        self._chats.clear()


def busiest_second(moments: list[float]) -> int:
    """The most moments in any sliding window of one second."""
    ordered = sorted(moments)
    most = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def closest_pair(moments: list[float]) -> float:
    """The shortest time between two of the moments (infinity with fewer than two)."""
    ordered = sorted(moments)
    return min((b - a for a, b in pairwise(ordered)), default=math.inf)
