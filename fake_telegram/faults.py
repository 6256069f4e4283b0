"""Fault injection: failed, slow and dropped answers, and users who blocked the bot."""

from __future__ import annotations

from collections import deque
from http import HTTPStatus

from .api import BotApi
from .errors import default_description
from .models import FakeUser, JSONDict
from .params import int_or
from .state import Fault


class FaultInjection(BotApi):
    """Faults queued per Bot API method, taken by the HTTP layer before a call is handled."""

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error instead of handling them.

        A 429 carries ``parameters.retry_after`` (default 1) like Telegram's flood control, so
        PTB raises ``RetryAfter``. With ``chat_id``, only calls for that chat fail (one
        recipient's trouble while others are served).
        """
        key = self._known_method(method)
        if times < 1:
            raise ValueError("times must be at least 1")
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        fault = Fault(
            status=status,
            description=description or default_description(status, retry_after),
            retry_after=retry_after,
            chat_id=chat_id,
        )
        self._faults.setdefault(key, deque()).extend([fault] * times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before answering."""
        key = self._known_method(method)
        if times < 1:
            raise ValueError("times must be at least 1")
        self._delays.setdefault(key, deque()).extend([seconds] * times)

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Handle the next ``times`` calls of ``method`` fully, then drop the connection.

        The call takes effect (a message is stored and seen by the user) but the client never
        gets an answer: the connection is closed where the answer would be. That is the
        uncertain case of a real network: PTB raises ``NetworkError`` (httpx's
        ``RemoteProtocolError``) although the message was delivered. Combines with
        ``delay_next``; a ``fail_next`` fault is answered (as an error) instead.
        """
        key = self._known_method(method)
        if times < 1:
            raise ValueError("times must be at least 1")
        self._drops[key] = self._drops.get(key, 0) + times

    def block_user(self, user_id: int) -> None:
        """Act as if the user blocked the bot: calls for that chat get 403 Forbidden."""
        self._blocked.add(user_id)
        # An unknown user is made as ``user(user_id)`` would make them.
        self._ensure_chat(self._users.get(user_id) or FakeUser(user_id), None)

    def unblock_user(self, user_id: int) -> None:
        """Undo :meth:`block_user`."""
        self._blocked.discard(user_id)

    def _take_fault(self, method: str, params: JSONDict) -> Fault | None:
        """Remove and return the first fault queued for this call of ``method``, if any."""
        faults = self._faults.get(method.lower())
        if not faults:
            return None
        chat = int_or(params.get("chat_id"), None)
        for fault in faults:
            if fault.chat_id is None or fault.chat_id == chat:
                faults.remove(fault)
                return fault
        return None
