"""When the phases of an exchange happen: dates from a programme and a start date.

Everything here is in local (Europe/Amsterdam) calendar dates and wall-clock times; converting to
UTC is left to whoever stores or schedules (`local_datetime` gives the aware moment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.programme import ChecklistItem, Phase, Programme, ScheduleItem

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_FRIDAY = 4


@dataclass(frozen=True)
class PlannedPhase:
    key: str
    kind: str
    starts_on: date
    ends_on: date
    start_time: time | None
    host: str


@dataclass(frozen=True)
class TimedScheduleItem:
    starts_at: time
    ends_at: time
    item: ScheduleItem


class AgreedDateError(ValueError):
    """An agreed date that the programme does not allow.

    `reason` is "not_a_day_phase", "outside_window" or "not_a_school_day".
    """

    def __init__(
        self, phase_key: str, reason: str, allowed: tuple[date, date] | None = None
    ) -> None:
        super().__init__(f"{phase_key}: {reason}")
        self.phase_key = phase_key
        self.reason = reason
        self.allowed = allowed


def programme_start(d: date) -> date:
    """The Monday of `d`'s week: all programme offsets count from there."""
    return d - timedelta(days=d.weekday())


def is_school_day(d: date) -> bool:
    # Holidays differ per region and are not known here; only weekends are excluded.
    return d.weekday() <= _FRIDAY


def phase_window(programme: Programme, phase_key: str, start: date) -> tuple[date, date]:
    """The first and last date (inclusive) the teachers may agree on for this phase."""
    phase = programme.phase(phase_key)
    monday = programme_start(start)
    return (
        monday + timedelta(days=phase.window_start_days),
        monday + timedelta(days=phase.window_end_days),
    )


def check_agreed_date(programme: Programme, phase_key: str, start: date, day: date) -> date:
    """`day` if it may be agreed for this phase; AgreedDateError otherwise."""
    phase = programme.phase(phase_key)
    if phase.kind != "day":
        raise AgreedDateError(phase_key, "not_a_day_phase")
    window = phase_window(programme, phase_key, start)
    if not window[0] <= day <= window[1]:
        raise AgreedDateError(phase_key, "outside_window", window)
    if not is_school_day(day):
        raise AgreedDateError(phase_key, "not_a_school_day", window)
    return day


def plan_phases(
    programme: Programme,
    start: date,
    *,
    agreed_dates: Mapping[str, date] | None = None,
    agreed_times: Mapping[str, time] | None = None,
) -> list[PlannedPhase]:
    """Every phase with its dates: the agreed ones where given, else the template's defaults.

    `start` may be any day of the first week. Agreed dates are checked with `check_agreed_date`;
    an unknown phase key in either mapping is a KeyError, so a stale key cannot be ignored.
    """
    monday = programme_start(start)
    agreed_dates = agreed_dates or {}
    agreed_times = agreed_times or {}
    for key in (*agreed_dates, *agreed_times):
        programme.phase(key)
    planned: list[PlannedPhase] = []
    for phase in programme.phases:
        if phase.key in agreed_dates:
            starts_on = check_agreed_date(programme, phase.key, monday, agreed_dates[phase.key])
        else:
            starts_on = monday + timedelta(days=phase.offset_days)
        planned.append(
            PlannedPhase(
                key=phase.key,
                kind=phase.kind,
                starts_on=starts_on,
                ends_on=starts_on + timedelta(days=phase.duration_days - 1),
                start_time=agreed_times.get(phase.key, phase.default_start_time),
                host=phase.host,
            )
        )
    return planned


def current_phase(phases: Sequence[PlannedPhase], today: date) -> PlannedPhase | None:
    """The phase whose week(s) contain `today`, or None before, after and between phases.

    Weeks run Monday to Sunday, so on the weekend after the closing it is still the closing's
    week. If two phases share a week, the one that started most recently wins; before either
    has started, the first.
    """
    matching = [
        p
        for p in phases
        if programme_start(p.starts_on) <= today <= programme_start(p.ends_on) + timedelta(days=6)
    ]
    started = [p for p in matching if p.starts_on <= today]
    if started:
        return max(started, key=lambda p: p.starts_on)
    return min(matching, key=lambda p: p.starts_on, default=None)


def next_phase(phases: Sequence[PlannedPhase], today: date) -> PlannedPhase | None:
    """The first phase that starts after `today`."""
    return min((p for p in phases if p.starts_on > today), key=lambda p: p.starts_on, default=None)


def due_date(item: ChecklistItem, phase_starts_on: date) -> date:
    """The deadline of a checklist item for a phase that starts on `phase_starts_on`.

    A deadline on a weekend moves back to the Friday before: teachers do this work at school.
    """
    due = phase_starts_on - timedelta(days=item.due_days_before)
    while not is_school_day(due):
        due -= timedelta(days=1)
    return due


def timed_schedule(phase: Phase, start_time: time | None = None) -> list[TimedScheduleItem]:
    """The phase's day schedule as clock times, from the agreed or else the default start."""
    start = start_time or phase.default_start_time
    if start is None:
        return []
    base = datetime.combine(date(2000, 1, 1), start)
    return [
        TimedScheduleItem(
            starts_at=(base + timedelta(minutes=item.offset_minutes)).time(),
            ends_at=(base + timedelta(minutes=item.offset_minutes + item.duration_minutes)).time(),
            item=item,
        )
        for item in phase.schedule
    ]


def local_datetime(day: date, at: time) -> datetime:
    """The aware Amsterdam moment of a local date and wall-clock time (store it as UTC)."""
    return datetime.combine(day, at, tzinfo=AMSTERDAM)


def exchange_ended(last_day: date, today: date, retention_days: int) -> bool:
    """Whether free texts of an exchange that ended on `last_day` are due for deletion."""
    return today > last_day + timedelta(days=retention_days)
