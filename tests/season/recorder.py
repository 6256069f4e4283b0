"""Everything that happened in a season, in order, stamped with the season's clock.

The fake Bot API records its calls with the wall clock; a season runs on the fake clock, so
each call is stamped with the fake time at the moment it was recorded. The people's own
actions (typing, pressing, sending a photo, blocking the bot) are logged on the same sequence,
which lets the transcript interleave both exactly as they happened.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, SupportsIndex

from bot.clock import FakeClock
from fake_telegram import RecordedCall

_SEQUENCE = itertools.count(1)


def next_seq() -> int:
    return next(_SEQUENCE)


@dataclass(frozen=True)
class Stamp:
    seq: int
    at: datetime  # UTC, from the season's clock


class StampedCalls(list[RecordedCall]):
    """The fake server's call list, remembering the fake time of every call.

    FakeTelegram only appends and clears this list; both are covered here.
    """

    def __init__(self, clock: FakeClock, calls: Iterable[RecordedCall] = ()) -> None:
        super().__init__()
        self.clock = clock
        self.stamps: dict[int, Stamp] = {}
        for call in calls:
            self.append(call)

    def append(self, call: RecordedCall) -> None:
        self.stamps[id(call)] = Stamp(next_seq(), self.clock.now())
        super().append(call)

    def clear(self) -> None:
        # The stamps stay: a season never resets the fake, and a stale stamp harms nothing.
        super().clear()

    def stamp(self, call: RecordedCall) -> Stamp:
        return self.stamps[id(call)]

    def __delitem__(self, index: SupportsIndex | slice) -> None:  # pragma: no cover
        raise AssertionError("the season's call log is append-only")


@dataclass(frozen=True)
class Action:
    """Something a person did: typed, pressed, sent a photo, edited, blocked the bot."""

    seq: int
    at: datetime
    user_id: int
    kind: str  # "typed" | "pressed" | "photo" | "edited" | "blocked" | "unblocked" | "location"
    text: str
    note: str = ""  # e.g. "twee keer snel achter elkaar"


@dataclass
class Finding:
    """An invariant or an expectation of the issue that did not hold."""

    what: str
    evidence: str


@dataclass
class Log:
    actions: list[Action] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # Things worth a reader's attention that no point of the issue demands.
    observations: list[str] = field(default_factory=list)

    def act(self, clock: FakeClock, user_id: int, kind: str, text: str, note: str = "") -> None:
        self.actions.append(Action(next_seq(), clock.now(), user_id, kind, text, note))

    def expect(self, condition: object, what: str, evidence: Any = "") -> bool:
        """Record a finding unless `condition` holds; the season goes on either way."""
        if not condition:
            self.findings.append(Finding(what, str(evidence)))
        return bool(condition)
