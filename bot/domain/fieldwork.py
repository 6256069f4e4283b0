"""The exchange day in the field: moments, counts, incident kinds and escalation (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.exchange_input import InputError
from bot.domain.numbers import MAX_ID, read_int
from bot.domain.reminders import ExchangeSnapshot, PlannedPush

# Moments of the day a headcount is taken at, in the order they happen; "free" is any other.
MOMENTS = ("arrival", "departure", "back", "end", "free")
CATEGORIES = ("injury", "missing", "conflict", "remark", "unsafe", "damage", "other")
SEVERITIES = ("low", "medium", "high", "urgent")
URGENT_SEVERITIES = ("high", "urgent")
# Over the class size by more than this is a typing error, not visitors.
COUNT_MARGIN = 5
MAX_TEAM_NUMBER = 20


def check_count(text: str | int, class_size: int) -> int:
    """A headcount as typed: a whole number from 0 to the class size plus a small margin."""
    raw = str(text).strip()
    if raw.startswith("-") and read_int(raw[1:], lo=0, hi=MAX_ID) is not None:
        raise InputError("count.negative")
    value = read_int(raw, lo=0, hi=MAX_ID)
    if value is None:
        raise InputError("count.not_a_number", maximum=class_size + COUNT_MARGIN)
    if value > class_size + COUNT_MARGIN:
        raise InputError("count.too_many", size=class_size, maximum=class_size + COUNT_MARGIN)
    return value


def check_team(text: str) -> int:
    team = read_int(text.strip().lstrip("#"), lo=1, hi=MAX_TEAM_NUMBER)
    if team is None:
        raise InputError("incident.bad_team", maximum=MAX_TEAM_NUMBER)
    return team


def next_moment(recorded: Sequence[str]) -> str:
    """The moment a count without one is for (`/aanwezig 24 22`), given today's counted
    moments in the order they were taken.

    It is the moment after the latest one counted, in the order of the day: after "aankomst"
    and "terug van de speurtocht" comes "einde van de dag", not the skipped "vertrek", so a
    drop is reported against the count that really came before. After the end of the day,
    or when the day's counts are out of its order or name an unknown moment, it is
    "tussendoor"; counts taken "tussendoor" do not move the day on.
    """
    day = MOMENTS[:-1]
    counted = [moment for moment in recorded if moment != "free"]
    if not counted:
        return day[0]
    if any(moment not in day for moment in counted):
        return "free"
    positions = [day.index(moment) for moment in counted]
    latest = positions[-1]
    if latest < max(positions) or latest == len(day) - 1:
        return "free"
    return day[latest + 1]


def effective_severity(category: str, severity: str | None) -> str:
    """A missing pupil is always urgent, whatever was chosen."""
    if category == "missing":
        return "urgent"
    if severity not in SEVERITIES:
        raise ValueError(severity)
    return severity


@dataclass(frozen=True)
class Escalation:
    teachers: bool  # the exchange's teachers are alerted too
    repeat_after: timedelta | None  # re-sent to every coordinator when nobody acknowledged


def escalation(severity: str, ack_window: timedelta) -> Escalation:
    """High and urgent incidents reach teachers at once and are repeated if nobody reacts."""
    if severity in URGENT_SEVERITIES:
        return Escalation(teachers=True, repeat_after=ack_window)
    return Escalation(teachers=False, repeat_after=None)


def plan_checkin_checks(
    snapshot: ExchangeSnapshot,
    coordinator_ids: Sequence[int],
    *,
    tz: ZoneInfo,
    lead: timedelta,
) -> list[PlannedPush]:
    """A check `lead` before each begeleider day starts: has every begeleider checked in?

    The push goes to the coordinators; it is written at send time and skipped when everyone
    is there (or the exchange has no begeleiders).
    """
    if not snapshot.active or not any(m.role == "begeleider" for m in snapshot.members):
        return []
    out = []
    for dates in snapshot.phases:
        phase = snapshot.programme.phase(dates.key)
        if phase.kind != "day" or not phase.needs_begeleider:
            continue
        start = dates.start_time or phase.default_start_time or time(9, 0)
        begins = datetime.combine(dates.starts_on, start, tz)
        for coordinator in sorted(set(coordinator_ids)):
            out.append(
                PlannedPush(
                    user_id=coordinator,
                    exchange_id=snapshot.id,
                    kind="checkin_missing",
                    due_at=(begins - lead).astimezone(UTC),
                    not_after=(begins + timedelta(hours=2)).astimezone(UTC),
                    dedupe_key=(
                        f"checkin:{snapshot.id}:{dates.key}:{dates.starts_on}:{coordinator}"
                    ),
                    payload={"phase": dates.key, "date": dates.starts_on.isoformat()},
                )
            )
    return out


def exchange_ended(last_day: date, today: date, retention_days: int) -> bool:
    """Whether free texts of an exchange that ended on `last_day` are due for deletion."""
    return today > last_day + timedelta(days=retention_days)
