"""Check-ins on the exchange day: when to ask whether every begeleider has arrived (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.outbox import (
    CHECKIN_MISSING,
    DayPayload,
    ExchangeSnapshot,
    PlannedMessage,
    planned_for,
)


def plan_checkin_checks(
    snapshot: ExchangeSnapshot,
    coordinator_ids: Sequence[int],
    *,
    tz: ZoneInfo,
    lead: timedelta,
) -> list[PlannedMessage]:
    """A check `lead` before each begeleider day starts: has every begeleider checked in?

    The push goes to the coordinators; it is written at send time and skipped when everyone
    is there. A day no begeleider is planned for (Membership.days) needs no check.
    """
    if not snapshot.active:
        return []
    out = []
    for dates in snapshot.phases:
        phase = snapshot.programme.phase(dates.key)
        if phase.kind != "day" or not phase.needs_begeleider:
            continue
        if not any(
            m.role == "begeleider" and planned_for(m.days, dates.key) for m in snapshot.members
        ):
            continue
        start = dates.start_time or phase.default_start_time or time(9, 0)
        begins = datetime.combine(dates.starts_on, start, tz)
        for coordinator in sorted(set(coordinator_ids)):
            out.append(
                PlannedMessage(
                    user_id=coordinator,
                    exchange_id=snapshot.id,
                    kind=CHECKIN_MISSING,
                    due_at=(begins - lead).astimezone(UTC),
                    not_after=(begins + timedelta(hours=2)).astimezone(UTC),
                    dedupe_key=(
                        f"checkin:{snapshot.id}:{dates.key}:{dates.starts_on}:{coordinator}"
                    ),
                    payload=DayPayload(phase=dates.key, date=dates.starts_on.isoformat()),
                )
            )
    return out
