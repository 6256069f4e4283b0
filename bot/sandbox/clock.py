"""The sandbox's clock: real time, moved ahead by the time machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Real time plus an offset, so time keeps running between jumps as it would."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    @property
    def is_real(self) -> bool:
        return self._offset == timedelta(0)

    def set(self, moment: datetime) -> None:
        """Move the offset so that now() is `moment` (and runs on from there)."""
        if moment.tzinfo is None:
            raise ValueError("SandboxClock needs an aware datetime")
        self._offset = moment.astimezone(UTC) - datetime.now(UTC)

    def back_to_real(self) -> None:
        self._offset = timedelta(0)

    def timestamp(self) -> float:
        """Seconds since the epoch, for the fake Telegram's message dates."""
        return self.now().timestamp()
