"""Which dates of an exchange are still to be agreed: the teachers' first task."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol

from bot.domain.programme import Programme


class DatedPhase(Protocol):
    """A phase's dates as stored (read only)."""

    @property
    def phase_key(self) -> str: ...
    @property
    def ends_on(self) -> date: ...
    @property
    def agreed(self) -> bool: ...


def open_days(
    programme: Programme, phases: Iterable[DatedPhase], today: date | None = None
) -> list[str]:
    """The day phases (exchange days, the closing) whose date is not agreed yet, in programme
    order; with `today`, only those not over by then (a provisional day that has passed can no
    longer be agreed)."""
    rows = {row.phase_key: row for row in phases}
    found = []
    for phase in programme.phases:
        row = rows.get(phase.key)
        if phase.kind != "day" or row is None or row.agreed:
            continue
        if today is not None and row.ends_on < today:
            continue
        found.append(phase.key)
    return found
